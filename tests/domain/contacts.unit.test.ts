import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accountJid, contactFactOf, contactUpdateOf, evolveContact, lidPairOf, lidPairsOf, mergeContacts, phoneNumberOf, type ContactState } from '../../src/domain/contacts.ts';

const PN = '6281300000001@s.whatsapp.net';
const LID = '98765432101234@lid';

test('accounts without their device; groups and junk are nobody', () => {
  assert.equal(accountJid('6281300000001:3@s.whatsapp.net'), PN);
  assert.equal(accountJid('98765432101234:7@lid'), LID);
  assert.equal(accountJid('120363000000000001@g.us'), undefined);
  assert.equal(accountJid('status@broadcast'), undefined);
  assert.equal(accountJid(null), undefined);
  assert.equal(phoneNumberOf(PN), '+6281300000001');
  assert.equal(phoneNumberOf(LID), null);
});

test('LID ↔ number pairs come from every event that names both, and only those', () => {
  assert.deepEqual(lidPairOf('message.received', { from: PN, fromLid: `${LID.split('@')[0]}:2@lid` }), { pn: PN, lid: LID });
  assert.equal(lidPairOf('message.received', { from: LID, fromLid: LID }), undefined, 'a bare LID says nothing about the number');
  assert.deepEqual(lidPairOf('contact.identified', { jid: PN, lid: LID, source: 'lookup' }), { pn: PN, lid: LID });
  assert.deepEqual(lidPairOf('contact.updated', { jid: PN, lid: LID, name: 'Ann', source: 'contact' }), { pn: PN, lid: LID });
  assert.deepEqual(lidPairOf('device.connected', { phoneNumber: '+6281300000001', lid: '98765432101234:4@lid' }), { pn: PN, lid: LID });
  assert.equal(lidPairOf('device.connected', { phoneNumber: '+6281300000001' }), undefined);
  assert.equal(lidPairOf('message.sent', { from: PN, fromLid: LID }), undefined);
  assert.deepEqual(lidPairsOf([{ id: PN, lid: LID }, { id: LID, phoneNumber: PN }, { id: PN }, { id: '1@g.us', lid: LID }]), [{ pn: PN, lid: LID }, { pn: PN, lid: LID }]);
});

test('a message makes its sender a contact with their push name; a lookup only enriches a contact already known', () => {
  const fromMessage = contactFactOf('message.received', { from: PN, fromLid: LID, pushName: ' Ann ' })!;
  assert.deepEqual(fromMessage, { pn: PN, lid: LID, whatsappName: 'Ann', source: 'message' });
  assert.deepEqual(evolveContact(undefined, fromMessage), { jid: PN, lid: LID, contactName: null, whatsappName: 'Ann', verifiedName: null, source: 'message' });
  const lookup = contactFactOf('contact.identified', { jid: PN, lid: LID, source: 'lookup' })!;
  assert.equal(evolveContact(undefined, lookup), undefined);
  assert.equal(contactFactOf('message.received', { from: '120363000000000001@g.us' }), undefined);
});

test('the address-book name and source win over later push names; a later push name replaces an earlier one', () => {
  let state: ContactState | undefined;
  state = evolveContact(state, contactFactOf('contact.updated', { jid: PN, name: 'Ann (work)', source: 'contact' })!);
  state = evolveContact(state, contactFactOf('message.received', { from: PN, pushName: 'Annie' })!);
  state = evolveContact(state, contactFactOf('message.received', { from: PN, pushName: 'Ann B.' })!);
  assert.deepEqual(state, { jid: PN, lid: null, contactName: 'Ann (work)', whatsappName: 'Ann B.', verifiedName: null, source: 'contact' });
});

test('someone met by LID alone takes their number once it is known', () => {
  const byLid = evolveContact(undefined, contactFactOf('message.received', { from: LID, fromLid: LID, pushName: 'Bo' })!)!;
  assert.equal(byLid.jid, LID);
  const identified = evolveContact(byLid, contactFactOf('contact.identified', { jid: PN, lid: LID, source: 'lookup' })!)!;
  assert.deepEqual(identified, { jid: PN, lid: LID, contactName: null, whatsappName: 'Bo', verifiedName: null, source: 'message' });
  const byNumber: ContactState = { jid: PN, lid: null, contactName: 'Bo Smith', whatsappName: null, verifiedName: null, source: 'contact' };
  assert.deepEqual(mergeContacts(byLid, byNumber), { jid: PN, lid: LID, contactName: 'Bo Smith', whatsappName: 'Bo', verifiedName: null, source: 'contact' });
});

test("Baileys' contact records: by number with the LID beside it, or nothing when they say nothing", () => {
  assert.deepEqual(contactUpdateOf({ id: LID, phoneNumber: PN, name: 'Cy', notify: 'cy' }), { jid: PN, lid: LID, name: 'Cy', pushName: 'cy', source: 'contact' });
  assert.deepEqual(contactUpdateOf({ id: PN, lid: LID }), { jid: PN, lid: LID, source: 'contact' });
  assert.equal(contactUpdateOf({ id: PN }), undefined);
  assert.equal(contactUpdateOf({ id: '120363000000000001@g.us', name: 'A group' }), undefined);
});
