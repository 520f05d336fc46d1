import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Contact, WASocket } from '@whiskeysockets/baileys';
import { until } from '../helpers/wait.ts';
import { connectedCompanion, linkCompanion, openCompanion } from '../../simulator/companion.ts';
import { useSimulator } from './harness.ts';

// App-state sync with the real Baileys client: the phone shares its app-state key with each companion it links, and
// its address book reaches the companion as contacts (with their LIDs) through patches Baileys decrypts and checks.
const fixture = useSimulator();

interface Seen {
  contacts: Partial<Contact>[];
  pairs: { lid: string; pn: string }[];
}

function observe(socket: WASocket): Seen {
  const seen: Seen = { contacts: [], pairs: [] };
  socket.ev.on('contacts.upsert', (contacts) => seen.contacts.push(...contacts));
  socket.ev.on('contacts.update', (updates) => seen.contacts.push(...updates));
  socket.ev.on('lid-mapping.update', (pair) => seen.pairs.push(pair));
  return seen;
}

const named = (seen: Seen, id: string, name: string) => seen.contacts.find((c) => c.id === id && c.name === name);

test('a new companion gets the key and the address book saved before it was linked, with LIDs', { timeout: 60_000 }, async () => {
  const { sim, url } = fixture;
  const owner = sim.createPhone('6281500000001');
  const friend = sim.createPhone('6281500000002');
  await sim.appState.setAddressBook(owner, [
    { number: friend.number, name: 'Friend Fay' },
    { number: '6281500000999', name: 'Not On WhatsApp' },
  ]);
  const { auth } = await linkCompanion(url, (qr) => sim.scan(qr, owner.number));
  let seen: Seen | undefined;
  const { socket } = await openCompanion(url, auth, (s) => (seen = observe(s)));
  try {
    const fay = await until(() => named(seen!, friend.jid, 'Friend Fay'), 'Fay from the address book');
    assert.equal(fay.lid, `${friend.lid}@lid`);
    assert.deepEqual(seen!.pairs.find((p) => p.pn === friend.jid), { lid: `${friend.lid}@lid`, pn: friend.jid });
    const stranger = await until(() => named(seen!, '6281500000999@s.whatsapp.net', 'Not On WhatsApp'), 'a number without WhatsApp');
    assert.equal(stranger.lid, undefined);
    assert.ok(auth.creds.myAppStateKeyId, 'the key is the companion’s own now');
  } finally {
    socket.end(undefined);
  }
});

// Through the control route, as the offline demo and other processes drive it.
const putContacts = (number: string, entries: unknown) =>
  fetch(`${fixture.control}/phones/${number}/contacts`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(entries) });

test('changes on the phone reach a connected companion, also after a contact is deleted', { timeout: 60_000 }, async () => {
  const { sim, url } = fixture;
  const setAddressBook = async (phone: { number: string }, entries: { number: string; name: string }[]) => {
    const res = await putContacts(phone.number, entries);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), entries);
  };
  const owner = sim.createPhone('6281500000011');
  const gus = sim.createPhone('6281500000012');
  const hal = sim.createPhone('6281500000013');
  let seen: Seen | undefined;
  const { socket } = await connectedCompanion(url, (qr) => sim.scan(qr, owner.number));
  seen = observe(socket);
  try {
    await setAddressBook(owner, [{ number: gus.number, name: 'Gus' }, { number: hal.number, name: 'Hal' }]);
    await until(() => named(seen!, gus.jid, 'Gus') && named(seen!, hal.jid, 'Hal'), 'both contacts');
    // A deletion is a REMOVE mutation: the LT hash must still agree for the next patch to be accepted.
    await setAddressBook(owner, [{ number: hal.number, name: 'Hal Jordan' }]);
    await until(() => named(seen!, hal.jid, 'Hal Jordan'), 'the renamed contact');
    await setAddressBook(owner, [{ number: hal.number, name: 'Hal J.' }, { number: gus.number, name: 'Gus again' }]);
    await until(() => named(seen!, gus.jid, 'Gus again') && named(seen!, hal.jid, 'Hal J.'), 'the later changes');
    assert.equal((await socket.authState.keys.get('app-state-sync-version', ['critical_unblock_low']))['critical_unblock_low']?.version, 6);
  } finally {
    socket.end(undefined);
  }
});

test('the control route checks the address book it is given', async () => {
  const { sim } = fixture;
  sim.createPhone('6281500000021');
  for (const bad of [{ number: '6281500000022', name: 'x' }, [{ number: 'abc', name: 'x' }], [{ number: '6281500000022', name: ' ' }]]) {
    assert.equal((await putContacts('6281500000021', bad)).status, 400, JSON.stringify(bad));
  }
  assert.equal((await putContacts('6281500000029', [])).status, 404);
  const saved = await fetch(`${fixture.control}/phones/6281500000021/contacts`);
  assert.deepEqual(await saved.json(), []);
});
