import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { proto, type AuthenticationState, type WASocket } from '@whiskeysockets/baileys';
import { connectedCompanion, openCompanion } from '../../simulator/companion.ts';
import { textOf, watch, type Watch } from '../../simulator/events.ts';
import type { Phone } from '../../simulator/phones.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';

// Companions of two different accounts talk through the simulator like through WhatsApp: both ways, with the
// sender's other companion kept in sync, and a companion that is offline gets its messages at its next login.
const { DELIVERY_ACK } = proto.WebMessageInfo.Status;
let sim: WhatsAppSimulator;
let url: string;
let alice: Phone;
let bob: Phone;
const companions: Record<'a1' | 'a2' | 'b1', { socket: WASocket; auth: AuthenticationState; events: Watch }> = {} as never;
before(async () => {
  sim = new WhatsAppSimulator();
  ({ url } = await sim.listen());
  alice = sim.createPhone('6281234567301');
  bob = sim.createPhone('6281234567302');
  for (const [name, phone] of [['a1', alice], ['a2', alice], ['b1', bob]] as const) {
    const { socket, auth } = await connectedCompanion(url, (qr) => sim.scan(qr, phone.number));
    companions[name] = { socket, auth, events: watch(socket) };
  }
});
after(async () => {
  for (const { socket } of Object.values(companions)) socket.end(undefined);
  await sim.close();
});

test('companions of two accounts exchange texts both ways; the sender’s other companion sees what it sent', { timeout: 30_000 }, async () => {
  const { a1, a2, b1 } = companions;
  const first = (await a1.socket.sendMessage(bob.jid, { text: 'hi bob' }))!.key.id!;
  const atBob = await b1.events.waitForMessage((m) => m.key.id === first);
  assert.equal(textOf(atBob), 'hi bob');
  assert.deepEqual([atBob.key.fromMe, atBob.key.remoteJid], [false, alice.jid]);
  const copy = await a2.events.waitForMessage((m) => m.key.id === first);
  assert.deepEqual([textOf(copy), copy.key.fromMe, copy.key.remoteJid], ['hi bob', true, bob.jid]);

  const answer = (await b1.socket.sendMessage(alice.jid, { text: 'hi alice' }))!.key.id!;
  for (const { events } of [a1, a2]) {
    const atAlice = await events.waitForMessage((m) => m.key.id === answer);
    assert.deepEqual([textOf(atAlice), atAlice.key.fromMe, atAlice.key.remoteJid], ['hi alice', false, bob.jid]);
  }
  await b1.events.waitForStatus(answer, DELIVERY_ACK);
  assert.equal(sim.inbox(alice.number).filter((m) => m.id === answer).length, 1, 'alice’s phone got it once too');
});

test('a text for an offline companion is kept and delivered once at its next login; only then is it delivered', { timeout: 30_000 }, async () => {
  const { a1, b1 } = companions;
  // Bob's phone stays silent, so a delivery receipt can only come from the companion.
  sim.setReceipts(bob.number, { policy: 'none', delayMs: 0 });
  const b1Jid = b1.auth.creds.me!.id;
  b1.socket.end(undefined);
  while (sim.connectionsOf(b1Jid).length) await sleep(10);

  const id = (await a1.socket.sendMessage(bob.jid, { text: 'while you were away' }))!.key.id!;
  await sleep(300);
  assert.deepEqual(a1.events.statuses(id).filter((s) => s >= DELIVERY_ACK), []);

  let events!: Watch;
  const { socket } = await openCompanion(url, b1.auth, (created) => (events = watch(created)));
  companions.b1 = { socket, auth: b1.auth, events };
  const received = await events.waitForMessage((m) => m.key.id === id);
  assert.equal(textOf(received), 'while you were away');
  await a1.events.waitForStatus(id, DELIVERY_ACK);
  await sleep(200);
  assert.equal(events.messages.filter((m) => m.key.id === id).length, 1);
  assert.equal(sim.router.mailbox.pending(b1Jid).length, 0, 'the companion’s receipt emptied its mailbox');
});

test('a group text reaches every member: phones decrypt it, companions get it; receipts come per participant', { timeout: 30_000 }, async () => {
  const { a1, b1 } = companions;
  const carol = sim.createPhone('6281234567303');
  sim.setReceipts(carol.number, { policy: 'read', delayMs: 50 });
  const group = sim.createGroup('Trio', [alice.number, bob.number, carol.number]);
  const read = new Set<string>();
  a1.socket.ev.on('message-receipt.update', (updates) => {
    for (const { receipt } of updates) if (receipt.readTimestamp && receipt.userJid) read.add(receipt.userJid);
  });
  for (const text of ['hello, group', 'and again']) {
    const id = (await a1.socket.sendMessage(group.jid, { text }))!.key.id!;
    const atBob = await b1.events.waitForMessage((m) => m.key.id === id);
    assert.deepEqual([textOf(atBob), atBob.key.remoteJid, atBob.key.participant], [text, group.jid, alice.jid]);
    while (!sim.inbox(carol.number).some((m) => m.id === id)) await sleep(10);
    const atCarol = sim.inbox(carol.number).find((m) => m.id === id)!;
    assert.deepEqual([atCarol.from, atCarol.text, atCarol.group], [alice.jid, text, group.jid]);
  }
  while (!read.has(carol.jid)) await sleep(10);
  assert.ok(!read.has(bob.jid), 'bob’s phone stays silent (policy none) and his companion only delivers');
});
