import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { proto, type WASocket } from '@whiskeysockets/baileys';
import { connectedCompanion } from '../../simulator/companion.ts';
import { textOf, watch, type Watch } from '../../simulator/events.ts';
import type { Phone } from '../../simulator/phones.ts';
import { RECEIPT_GAP_MS } from '../../simulator/phone-traffic.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';

// A real Baileys companion and a simulated phone exchange end-to-end encrypted texts; the phone answers with
// receipts by its policy.
const { DELIVERY_ACK, READ } = proto.WebMessageInfo.Status;
let sim: WhatsAppSimulator;
let alice: Phone;
let bob: Phone;
let socket: WASocket;
let events: Watch;
before(async () => {
  sim = new WhatsAppSimulator();
  const { url } = await sim.listen();
  alice = sim.createPhone('6281234567201');
  bob = sim.createPhone('6281234567202');
  ({ socket } = await connectedCompanion(url, (qr) => sim.scan(qr, alice.number)));
  events = watch(socket);
});
after(async () => {
  socket.end(undefined);
  await sim.close();
});

const receiptsAbove = (id: string, status: number) => events.statuses(id).filter((s) => s >= status);

async function sendToBob(text: string): Promise<string> {
  const sent = await socket.sendMessage(bob.jid, { text });
  return sent!.key.id!;
}

async function inInbox(phone: Phone, id: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!sim.inbox(phone.number).some((m) => m.id === id)) {
    if (Date.now() > deadline) throw new Error(`${id} never reached ${phone.number}`);
    await sleep(20);
  }
}

test('a companion text reaches the phone decrypted, once; the status goes delivered, then read', { timeout: 30_000 }, async () => {
  sim.setReceipts(bob.number, { policy: 'read', delayMs: 200 });
  const started = Date.now();
  const id = await sendToBob('hello, phone');
  await events.waitForStatus(id, READ);
  assert.deepEqual(receiptsAbove(id, DELIVERY_ACK), [DELIVERY_ACK, READ]);
  const received = sim.inbox(bob.number).filter((m) => m.id === id);
  assert.equal(received.length, 1);
  assert.equal(received[0]!.text, 'hello, phone');
  assert.equal(received[0]!.from, alice.jid);
  assert.ok(Date.now() - started >= RECEIPT_GAP_MS + 200, 'read comes after the delay');
});

test('under policy delivered the status stays delivered', { timeout: 30_000 }, async () => {
  sim.setReceipts(bob.number, { policy: 'delivered', delayMs: 50 });
  const id = await sendToBob('deliver only');
  await events.waitForStatus(id, DELIVERY_ACK);
  await sleep(RECEIPT_GAP_MS + 400);
  assert.deepEqual(receiptsAbove(id, DELIVERY_ACK), [DELIVERY_ACK]);
});

test('under policy none no receipt comes, though the phone has the text', { timeout: 30_000 }, async () => {
  sim.setReceipts(bob.number, { policy: 'none', delayMs: 0 });
  const id = await sendToBob('into the void');
  await inInbox(bob, id);
  await sleep(RECEIPT_GAP_MS + 400);
  assert.deepEqual(receiptsAbove(id, DELIVERY_ACK), []);
});

test('a phone text reaches the companion in messages.upsert; the companion’s receipt reaches the phone', { timeout: 30_000 }, async () => {
  sim.setReceipts(alice.number, { policy: 'none', delayMs: 0 });
  const id = sim.sendFromPhone(bob.number, alice.number, 'hello, companion');
  const received = await events.waitForMessage((m) => m.key.id === id);
  assert.equal(textOf(received), 'hello, companion');
  assert.equal(received.key.fromMe, false);
  assert.equal(received.key.remoteJid, bob.jid);
  const deadline = Date.now() + 5000;
  while (sim.sentBy(bob.number).find((m) => m.id === id)?.status !== 'delivered') {
    assert.ok(Date.now() < deadline, 'the companion’s delivery receipt reached the phone');
    await sleep(20);
  }
  // And the companion can answer on the session the phone started.
  const reply = await sendToBob('got it');
  await inInbox(bob, reply);
});

test('onWhatsApp: numbers of the simulator’s phones are in, others out', { timeout: 30_000 }, async () => {
  const found = await socket.onWhatsApp(bob.number, '6289999999999');
  assert.deepEqual(found, [{ jid: bob.jid, exists: true }]);
});

test('groups: the companion lists the groups its account is in and reads their metadata', { timeout: 30_000 }, async () => {
  const carol = sim.createPhone('6281234567203');
  const ours = sim.createGroup('Team', [bob.number, alice.number]);
  sim.createGroup('Not ours', [bob.number, carol.number]);
  const all = await socket.groupFetchAllParticipating();
  assert.deepEqual(Object.keys(all), [ours.jid]);
  const meta = await socket.groupMetadata(ours.jid);
  assert.equal(meta.subject, 'Team');
  assert.equal(meta.owner, bob.jid);
  assert.deepEqual(meta.participants.map((p) => p.id).sort(), [alice.jid, bob.jid].sort());
  const created = await socket.groupCreate('Made here', [carol.jid]);
  assert.deepEqual(created.participants.map((p) => p.id).sort(), [alice.jid, carol.jid].sort());
  assert.equal(sim.groups.get(created.id)?.subject, 'Made here');
});
