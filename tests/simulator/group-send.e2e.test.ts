import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { getBinaryNodeChildren, type BinaryNode, type WASocket } from '@whiskeysockets/baileys';
import { connectedCompanion } from '../../simulator/companion.ts';
import { textOf, watch, type Watch } from '../../simulator/events.ts';
import type { Group } from '../../simulator/groups.ts';
import type { Phone } from '../../simulator/phones.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';

// A simulated phone writes into a group: real Baileys companions of the other members read it as a group message,
// decrypted with the phone's sender key, which each device is given once.
let sim: WhatsAppSimulator;
let url: string;
let control: string;
let alice: Phone;
let bob: Phone;
let carol: Phone;
let group: Group;
const sockets: WASocket[] = [];

interface Member {
  events: Watch;
  // The `<message>` stanzas the companion received, to see which keys came with each.
  stanzas: BinaryNode[];
}

async function companionOf(phone: Phone): Promise<Member> {
  const { socket } = await connectedCompanion(url, (qr) => sim.scan(qr, phone.number));
  sockets.push(socket);
  const stanzas: BinaryNode[] = [];
  socket.ws.on('CB:message', (node: BinaryNode) => stanzas.push(node));
  return { events: watch(socket), stanzas };
}

const encTypes = (member: Member, id: string) =>
  member.stanzas.filter((s) => s.attrs.id === id).map((s) => getBinaryNodeChildren(s, 'enc').map((e) => e.attrs.type));

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); await sleep(20)) assert.ok(Date.now() < deadline, what);
}

let b1: Member;
before(async () => {
  sim = new WhatsAppSimulator();
  ({ url, control } = await sim.listen());
  alice = sim.createPhone('6281234567501');
  alice.pushName = 'Alice';
  bob = sim.createPhone('6281234567502');
  carol = sim.createPhone('6281234567503');
  group = sim.createGroup('Trio', [alice.number, bob.number, carol.number]);
  b1 = await companionOf(bob);
});
after(async () => {
  for (const socket of sockets) socket.end(undefined);
  await sim.close();
});

test('a phone writes into a group of three: the other member’s companion gets it from the group, by the sender, decrypted', { timeout: 30_000 }, async () => {
  // The members' phones stay silent, so a delivery can only come from the companion.
  for (const phone of [bob, carol]) sim.setReceipts(phone.number, { policy: 'none', delayMs: 0 });
  const id = sim.sendGroupFromPhone(alice.number, group.jid, 'hello, group');
  const received = await b1.events.waitForMessage((m) => m.key.id === id);
  assert.equal(textOf(received), 'hello, group');
  assert.deepEqual([received.key.remoteJid, received.key.participant, received.key.fromMe, received.pushName], [group.jid, alice.jid, false, 'Alice']);
  assert.deepEqual(encTypes(b1, id), [['pkmsg', 'skmsg']], 'the sender key came first, pairwise');

  for (const phone of [bob, carol]) {
    const entries = sim.inbox(phone.number).filter((m) => m.id === id);
    assert.deepEqual(entries.map((m) => [m.from, m.group, m.text]), [[alice.jid, group.jid, 'hello, group']]);
  }
  assert.equal(sim.inbox(alice.number).filter((m) => m.id === id).length, 0, 'the sender does not receive its own message');
  await until(() => sim.sentBy(alice.number).find((m) => m.id === id)?.status === 'delivered', 'the companion’s receipt reached the phone');
  assert.equal(sim.sentBy(alice.number).find((m) => m.id === id)?.to, group.jid);
});

test('the next message reuses the sender key; a companion linked since, and the sender’s own, get the key once', { timeout: 60_000 }, async () => {
  const c1 = await companionOf(carol);
  const a1 = await companionOf(alice);
  const second = sim.sendGroupFromPhone(alice.number, group.jid, 'second one');
  const atBob = await b1.events.waitForMessage((m) => m.key.id === second);
  assert.deepEqual([textOf(atBob), atBob.key.remoteJid, atBob.key.participant], ['second one', group.jid, alice.jid]);
  assert.deepEqual(encTypes(b1, second), [['skmsg']], 'no key again for a device that has it');
  const atCarol = await c1.events.waitForMessage((m) => m.key.id === second);
  assert.deepEqual([textOf(atCarol), atCarol.key.remoteJid, atCarol.key.participant], ['second one', group.jid, alice.jid]);
  assert.deepEqual(encTypes(c1, second)[0]?.at(-1), 'skmsg');
  assert.equal(encTypes(c1, second)[0]?.length, 2, 'a new device gets the key with its first message');
  const own = await a1.events.waitForMessage((m) => m.key.id === second);
  assert.deepEqual([textOf(own), own.key.remoteJid, own.key.fromMe], ['second one', group.jid, true]);

  const third = sim.sendGroupFromPhone(alice.number, group.jid, 'third one');
  for (const member of [b1, c1, a1]) {
    assert.equal(textOf(await member.events.waitForMessage((m) => m.key.id === third)), 'third one');
    assert.deepEqual(encTypes(member, third), [['skmsg']]);
  }
});

test('POST /phones/{n}/send with a group jid writes into the group; 404 unknown group, 403 not a member, 400 media', { timeout: 30_000 }, async () => {
  const post = (number: string, body: object) =>
    fetch(`${control}/phones/${number}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const sent = await post(bob.number, { to: group.jid, text: 'from bob’s phone' });
  assert.equal(sent.status, 201);
  const { id } = (await sent.json()) as { id: string };
  assert.deepEqual(
    sim.inbox(alice.number).filter((m) => m.id === id).map((m) => [m.from, m.group, m.text]),
    [[bob.jid, group.jid, 'from bob’s phone']],
  );
  const own = await b1.events.waitForMessage((m) => m.key.id === id);
  assert.deepEqual([textOf(own), own.key.fromMe, own.key.participant], ['from bob’s phone', true, bob.jid]);

  const outsider = sim.createPhone('6281234567504');
  assert.equal((await post(bob.number, { to: '120363000000000000@g.us', text: 'x' })).status, 404);
  assert.equal((await post(outsider.number, { to: group.jid, text: 'x' })).status, 403);
  const media = { kind: 'image', data: Buffer.from('x').toString('base64'), mimetype: 'image/jpeg' };
  assert.equal((await post(bob.number, { to: group.jid, media })).status, 400);
  assert.throws(() => sim.sendGroupFromPhone(outsider.number, group.jid, 'x'), /not in/);
});
