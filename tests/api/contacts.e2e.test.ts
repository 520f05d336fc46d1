import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sqlOf } from '../../src/events/event-store.ts';
import { bearer, createUser, type TestPlatform } from '../helpers/platform.ts';
import { openSse } from '../helpers/sse.ts';
import { until } from '../helpers/wait.ts';
import { useLinkedPlatform, type LinkedDevice } from '../helpers/whatsapp.ts';
import type { WhatsAppSimulator } from '../../simulator/server.ts';

// Contacts, the LID map, profiles and presence through the whole platform: simulated phones → real Baileys →
// events → projections → API, and API → the session's worker → Baileys → the simulator.
let sim: WhatsAppSimulator;
let platform: TestPlatform;
let base: string;
let user: { id: number; username: string; token: string };
let device: LinkedDevice;
useLinkedPlatform({}, { username: 'people', alias: 'desk', number: '6281400000001' }, (linked) => ({ sim, platform, base, user, device } = linked));

const get = (url: string) => platform.request({ method: 'GET', url, headers: bearer(user.token) });
const post = (url: string, payload: object) => platform.request({ method: 'POST', url, headers: bearer(user.token), payload });
const contacts = async (url = `/api/whatsapp/devices/${device.id}/contacts`) => {
  const res = await get(url);
  assert.equal(res.statusCode, 200, res.body);
  return res.json().data.items as Record<string, unknown>[];
};
const received = async (text: string) => {
  const res = await get(`/api/whatsapp/users/${user.username}/message-logs?limit=200`);
  return (res.json().data.items as Record<string, unknown>[]).find((m) => m.body === text);
};

test('a sender becomes a contact with their push name, number and LID, on the device and across the user', { timeout: 60_000 }, async () => {
  const ann = sim.createPhone('6281400000101');
  ann.pushName = 'Ann';
  sim.sendFromPhone(ann.number, device.number, 'Hello from Ann');
  const contact = await until(async () => (await contacts()).find((c) => c.whatsappName === 'Ann'), 'Ann as a contact');
  assert.equal(contact.jid, `${ann.number}@s.whatsapp.net`);
  assert.equal(contact.phoneNumber, `+${ann.number}`);
  assert.equal(contact.lid, `${ann.lid}@lid`);
  assert.equal(contact.source, 'message');
  assert.equal(contact.contactName, null);
  const everywhere = await contacts(`/api/whatsapp/users/${user.username}/contacts?search=ann`);
  assert.deepEqual(everywhere.map((c) => c.jid), [contact.jid]);

  ann.pushName = 'Ann B.';
  sim.sendFromPhone(ann.number, device.number, 'New name');
  await until(async () => ((await contacts()).find((c) => c.jid === contact.jid)?.whatsappName === 'Ann B.' ? true : undefined), 'the new push name');
});

test('someone who writes by LID alone is shown by number once a lookup ties the two; Baileys then names them at once', { timeout: 60_000 }, async () => {
  const bo = sim.createPhone('6281400000102');
  bo.pushName = 'Bo';
  sim.sendFromPhone(bo.number, device.number, 'Only my LID', { addressing: 'lid', withAlt: false });
  const byLid = await until(async () => (await contacts()).find((c) => c.whatsappName === 'Bo'), 'Bo by LID');
  assert.equal(byLid.jid, `${bo.lid}@lid`);
  assert.equal(byLid.phoneNumber, null);
  const first = await until(() => received('Only my LID'), 'the LID message in the logs');
  assert.equal(first.from, `${bo.lid}@lid`, 'nobody knew the number yet');

  const check = await post(`/api/whatsapp/devices/${device.id}/check-numbers`, { phoneNumbers: [`+${bo.number}`] });
  assert.equal(check.json().data[0].lid, `${bo.lid}@lid`);
  const byNumber = await until(async () => (await contacts()).find((c) => c.jid === `${bo.number}@s.whatsapp.net`), 'Bo by number');
  assert.deepEqual([byNumber.lid, byNumber.whatsappName, byNumber.phoneNumber], [`${bo.lid}@lid`, 'Bo', `+${bo.number}`]);
  assert.equal((await contacts()).filter((c) => c.whatsappName === 'Bo').length, 1, 'one contact, not two');

  const history = await get(`/api/whatsapp/devices/${device.id}/messages/${bo.number}`);
  const earlier = (history.json().data.items as Record<string, unknown>[]).find((m) => m.body === 'Only my LID');
  assert.ok(earlier, 'the LID message is in the number’s chat');
  assert.equal(earlier.from, `${bo.number}@s.whatsapp.net`);
  assert.equal(earlier.chatJid, `${bo.number}@s.whatsapp.net`);

  const events: Record<string, unknown>[] = [];
  const sse = await openSse(`${base}/api/whatsapp/events/stream?types=message.received`, bearer(user.token), (m) => events.push(JSON.parse(m.data).data));
  sim.sendFromPhone(bo.number, device.number, 'LID again', { addressing: 'lid', withAlt: false });
  const again = await until(() => events.find((e) => e.text === 'LID again'), 'the second LID message');
  assert.equal(again.from, `${bo.number}@s.whatsapp.net`, "Baileys' own map names the number");
  assert.equal(again.fromLid, `${bo.lid}@lid`);
  sse.abort();
});

test("the phone's address book arrives by app-state sync: names as contactName, LIDs into the LID map", { timeout: 60_000 }, async () => {
  const ida = sim.createPhone('6281400000109');
  ida.pushName = 'Ida';
  const jon = sim.createPhone('6281400000110');
  // Known by LID alone at first: nobody has looked her number up.
  sim.sendFromPhone(ida.number, device.number, 'Ida by LID', { addressing: 'lid', withAlt: false });
  await until(async () => (await contacts()).find((c) => c.jid === `${ida.lid}@lid`), 'Ida by LID');

  await sim.appState.setAddressBook(sim.phones.get(device.number)!, [
    { number: ida.number, name: 'Ida from work' },
    { number: jon.number, name: 'Jon Neighbour' },
  ]);
  const idaNow = await until(async () => (await contacts()).find((c) => c.contactName === 'Ida from work'), 'Ida by her address-book name');
  assert.deepEqual(
    [idaNow.jid, idaNow.phoneNumber, idaNow.lid, idaNow.whatsappName, idaNow.source],
    [`${ida.number}@s.whatsapp.net`, `+${ida.number}`, `${ida.lid}@lid`, 'Ida', 'contact'],
  );
  assert.equal((await contacts()).filter((c) => c.lid === `${ida.lid}@lid`).length, 1, 'her LID contact folded into her number’s');
  const jonNow = await until(async () => (await contacts()).find((c) => c.contactName === 'Jon Neighbour'), 'Jon, who never wrote');
  assert.deepEqual([jonNow.jid, jonNow.lid, jonNow.whatsappName, jonNow.source], [`${jon.number}@s.whatsapp.net`, `${jon.lid}@lid`, null, 'contact']);
  const map = await sqlOf(platform.app.orm.em.fork())('select lid, pn from lid_mappings where tenant_id = ? and lid in (?) order by pn', [user.id, [`${ida.lid}@lid`, `${jon.lid}@lid`]]);
  assert.deepEqual(map.map((r) => [r.lid, r.pn]), [[`${ida.lid}@lid`, `${ida.number}@s.whatsapp.net`], [`${jon.lid}@lid`, `${jon.number}@s.whatsapp.net`]]);

  const history = await get(`/api/whatsapp/devices/${device.id}/messages/${ida.number}`);
  assert.ok((history.json().data.items as Record<string, unknown>[]).some((m) => m.body === 'Ida by LID'), 'her LID message is in her number’s chat');

  await sim.appState.setAddressBook(sim.phones.get(device.number)!, [{ number: ida.number, name: 'Ida W.' }, { number: jon.number, name: 'Jon Neighbour' }]);
  await until(async () => ((await contacts()).find((c) => c.jid === idaNow.jid)?.contactName === 'Ida W.' ? true : undefined), 'the renamed contact');
});

test("baileys-store: the device's contacts in Baileys' Contact shape", { timeout: 60_000 }, async () => {
  const kim = sim.createPhone('6281400000111');
  kim.pushName = 'Kim';
  sim.sendFromPhone(kim.number, device.number, 'Kim by LID', { addressing: 'lid', withAlt: false });
  await until(async () => (await contacts()).find((c) => c.whatsappName === 'Kim'), 'Kim by LID');
  const res = await get(`/api/whatsapp/devices/${device.id}/contacts/baileys-store`);
  assert.equal(res.statusCode, 200, res.body);
  const store = res.json().data.contacts as Record<string, unknown>[];
  const ida = sim.phones.get('6281400000109')!;
  const jon = sim.phones.get('6281400000110')!;
  const byId = (id: string) => store.find((c) => c.id === id);
  assert.deepEqual(byId(ida.jid), { id: ida.jid, lid: `${ida.lid}@lid`, phoneNumber: ida.jid, name: 'Ida W.', notify: 'Ida' });
  assert.deepEqual(byId(jon.jid), { id: jon.jid, lid: `${jon.lid}@lid`, phoneNumber: jon.jid, name: 'Jon Neighbour' });
  assert.deepEqual(byId(`${kim.lid}@lid`), { id: `${kim.lid}@lid`, lid: `${kim.lid}@lid`, notify: 'Kim' });
  assert.equal(store.length, (await contacts()).length, 'the same people as the contacts list');

  const first = await get(`/api/whatsapp/devices/${device.id}/contacts/baileys-store?limit=1`);
  const rest = await get(`/api/whatsapp/devices/${device.id}/contacts/baileys-store?limit=500&cursor=${first.json().data.nextCursor}`);
  assert.deepEqual([...first.json().data.contacts, ...rest.json().data.contacts], store);
  // Once her number is known, she is one contact under it.
  await post(`/api/whatsapp/devices/${device.id}/check-numbers`, { phoneNumbers: [`+${kim.number}`] });
  const known = await until(async () => {
    const again = (await get(`/api/whatsapp/devices/${device.id}/contacts/baileys-store`)).json().data.contacts as Record<string, unknown>[];
    return again.find((c) => c.id === kim.jid);
  }, 'Kim by number');
  assert.deepEqual(known, { id: kim.jid, lid: `${kim.lid}@lid`, phoneNumber: kim.jid, notify: 'Kim' });

  const byKey = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${device.id}/contacts/baileys-store`, headers: { 'x-device-api-key': device.apiKey } });
  assert.equal(byKey.statusCode, 200, byKey.body);
  const stranger = await createUser(platform, 'store-stranger');
  const theirs = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${device.id}/contacts/baileys-store`, headers: bearer(stranger.token) });
  assert.equal(theirs.statusCode, 404);
});

test('profile pictures and business profiles come from the session', { timeout: 60_000 }, async () => {
  const shop = sim.createPhone('6281400000103');
  shop.pictureUrl = 'https://pps.example/shop.jpg';
  shop.business = { description: 'Fresh bread daily', category: 'Bakery', email: 'hi@bakery.example', website: 'https://bakery.example' };
  const picture = await get(`/api/whatsapp/devices/${device.id}/profile/${shop.number}@s.whatsapp.net`);
  assert.equal(picture.statusCode, 200, picture.body);
  assert.deepEqual(picture.json().data, { jid: `${shop.number}@s.whatsapp.net`, profilePictureUrl: 'https://pps.example/shop.jpg' });
  const preview = await get(`/api/whatsapp/devices/${device.id}/profile/+${shop.number}?type=preview`);
  assert.match(preview.json().data.profilePictureUrl, /preview=1$/);
  const plain = sim.createPhone('6281400000104');
  assert.equal((await get(`/api/whatsapp/devices/${device.id}/profile/${plain.number}`)).json().data.profilePictureUrl, null);

  const business = await get(`/api/whatsapp/devices/${device.id}/business/${shop.number}`);
  assert.equal(business.statusCode, 200, business.body);
  assert.deepEqual(business.json().data, {
    jid: `${shop.number}@s.whatsapp.net`,
    isBusiness: true,
    description: 'Fresh bread daily',
    category: 'Bakery',
    email: 'hi@bakery.example',
    website: ['https://bakery.example'],
    address: null,
  });
  assert.equal((await get(`/api/whatsapp/devices/${device.id}/business/${plain.number}`)).json().data.isBusiness, false);
  assert.equal((await get(`/api/whatsapp/devices/${device.id}/business/not-a-number`)).json().code, 'INVALID_PHONE_NUMBER');
});

test("a contact's presence: answered on subscribing, then every change as an event and on the contact", { timeout: 60_000 }, async () => {
  const cy = sim.createPhone('6281400000105');
  cy.pushName = 'Cy';
  sim.sendFromPhone(cy.number, device.number, 'Cy here');
  await until(async () => (await contacts()).find((c) => c.whatsappName === 'Cy'), 'Cy as a contact');
  sim.presence.set(cy, 'available');
  const now = await get(`/api/whatsapp/devices/${device.id}/presence/${cy.number}`);
  assert.equal(now.statusCode, 200, now.body);
  assert.deepEqual(now.json().data, { jid: `${cy.number}@s.whatsapp.net`, presence: 'available', lastSeen: null });

  const updates: Record<string, unknown>[] = [];
  const sse = await openSse(`${base}/api/whatsapp/events/stream?types=contact.presence-updated`, bearer(user.token), (m) => updates.push(JSON.parse(m.data).data));
  const { lastSeen } = sim.presence.set(cy, 'unavailable');
  const offline = await until(() => updates.find((u) => u.presence === 'unavailable'), 'Cy offline on SSE');
  assert.deepEqual(offline, { jid: `${cy.number}@s.whatsapp.net`, presence: 'unavailable', lastSeen });
  const contact = await until(async () => (await contacts()).find((c) => c.whatsappName === 'Cy' && c.presence === 'unavailable'), 'offline on the contact');
  assert.equal(contact.lastSeen, new Date(lastSeen! * 1000).toISOString());
  sse.abort();
});

test('a presence subscription outlives a dropped connection: the session subscribes again when it reconnects', { timeout: 60_000 }, async () => {
  const liv = sim.createPhone('6281400000112');
  sim.presence.set(liv, 'available');
  const first = await get(`/api/whatsapp/devices/${device.id}/presence/${liv.number}`);
  assert.equal(first.json().data.presence, 'available', first.body);

  const events: { type: string; data: Record<string, unknown> }[] = [];
  const sse = await openSse(`${base}/api/whatsapp/events/stream?deviceId=${device.id}&types=device.connected,device.disconnected,contact.presence-updated`, bearer(user.token), (m) => {
    const { type, data } = JSON.parse(m.data);
    events.push({ type, data });
  });
  const jid = [...sim.devices.keys()].find((j) => j.startsWith(`${device.number}:`))!;
  sim.fault(jid, 'drop');
  await until(() => events.find((e) => e.type === 'device.disconnected'), 'the drop');
  await until(() => events.find((e) => e.type === 'device.connected'), 'the reconnect');
  const { lastSeen } = sim.presence.set(liv, 'unavailable');
  const ofLiv = () => events.filter((e) => e.type === 'contact.presence-updated' && e.data.jid === liv.jid);
  const offline = await until(() => ofLiv().find((e) => e.data.presence === 'unavailable'), 'Liv offline after the reconnect');
  assert.deepEqual(offline.data, { jid: liv.jid, presence: 'unavailable', lastSeen });
  sim.presence.set(liv, 'available');
  await until(() => (ofLiv().at(-1)?.data.presence === 'available' ? true : undefined), 'Liv back online');
  sse.abort();
});

test('our own presence: online once WhatsApp has told the session our name; typing shows in one chat', { timeout: 60_000 }, async () => {
  const url = `/api/whatsapp/devices/${device.id}/presence`;
  const early = await post(url, { presence: 'available' });
  assert.equal(early.statusCode, 409, early.body);
  assert.equal(early.json().code, 'ACCOUNT_NAME_UNKNOWN');

  // A message sent from the account's own phone carries its push name to its companions.
  const me = sim.phones.get(device.number)!;
  me.pushName = 'Desk';
  const friend = sim.createPhone('6281400000106');
  sim.sendFromPhone(me.number, friend.number, 'Sent from the phone');
  await until(async () => ((await post(url, { presence: 'available' })).statusCode === 200 ? true : undefined), 'online accepted');
  await until(() => (me.presence.state === 'available' ? true : undefined), 'the account online at the simulator');

  assert.equal((await post(url, { presence: 'composing' })).json().code, 'VALIDATION_ERROR', 'typing needs a chat');
  const typing = await post(url, { presence: 'composing', jid: friend.number });
  assert.deepEqual(typing.json().data, { presence: 'composing', jid: `${friend.number}@s.whatsapp.net` });
  await until(() => sim.presence.chatStatesOf(friend).find((s) => s.state === 'composing' && s.from === me.jid), 'composing at the friend');
});

test('sync looks people up again and reads groups, learning who is who', { timeout: 60_000 }, async () => {
  const dee = sim.createPhone('6281400000107');
  const eve = sim.createPhone('6281400000108');
  sim.createGroup('Bakers', [dee.number, device.number, eve.number]);
  const res = await post(`/api/whatsapp/devices/${device.id}/sync`, { includeContacts: true, includeChats: true, includeGroups: true });
  assert.equal(res.statusCode, 200, res.body);
  const { contacts: looked, groups, identified } = res.json().data;
  assert.equal(groups, 1);
  assert.ok(looked >= 3, `contacts looked up: ${looked}`);
  assert.ok(identified >= 3 + looked, `identified: ${identified}`);
  const only = await post(`/api/whatsapp/devices/${device.id}/sync`, { includeContacts: false, includeGroups: false });
  assert.deepEqual(only.json().data, { contacts: null, groups: null, identified: 0 });
});

test('a device no worker holds answers 409 at once; other users see 404', { timeout: 60_000 }, async () => {
  const offline = await post('/api/whatsapp/devices', { alias: 'offline' });
  const id = offline.json().device.id;
  await post(`/api/whatsapp/devices/${id}/logout`, {});
  const res = await get(`/api/whatsapp/devices/${id}/presence/6281400000101`);
  assert.equal(res.statusCode, 409);
  assert.equal(res.json().code, 'DEVICE_NOT_CONNECTED');
  const stranger = await createUser(platform, 'stranger');
  const theirs = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${device.id}/contacts`, headers: bearer(stranger.token) });
  assert.equal(theirs.statusCode, 404);
});
