import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { proto, type WASocket } from '@whiskeysockets/baileys';
import { connectedCompanion } from '../../simulator/companion.ts';
import { textOf, watch, type Watch } from '../../simulator/events.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';

// The messaging half of the control API, over HTTP as the benchmarks and the offline demo use it.
const { READ } = proto.WebMessageInfo.Status;
let sim: WhatsAppSimulator;
let control: string;
let socket: WASocket;
let events: Watch;
const alice = '6281234567401';
const bob = '6281234567402';
const jid = (number: string) => `${number}@s.whatsapp.net`;

const call = async (method: string, path: string, body?: object) => {
  const res = await fetch(`${control}${path}`, {
    method,
    ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as never };
};

before(async () => {
  sim = new WhatsAppSimulator();
  let url: string;
  ({ url, control } = await sim.listen());
  for (const number of [alice, bob]) assert.equal((await call('POST', '/phones', { number })).status, 201);
  ({ socket } = await connectedCompanion(url, (qr) => sim.scan(qr, alice)));
  events = watch(socket);
});
after(async () => {
  socket.end(undefined);
  await sim.close();
});

test('POST /phones/{n}/send: the text reaches the companion; GET /phones/{n}/sent shows it delivered', { timeout: 30_000 }, async () => {
  await call('PUT', `/phones/${alice}/receipts`, { policy: 'none' });
  const sent = await call('POST', `/phones/${bob}/send`, { to: alice, text: 'from the control API' });
  assert.equal(sent.status, 201);
  const { id } = sent.body as { id: string };
  const received = await events.waitForMessage((m) => m.key.id === id);
  assert.equal(textOf(received), 'from the control API');
  for (let status = ''; status !== 'delivered'; await sleep(20)) {
    const list = (await call('GET', `/phones/${bob}/sent`)).body as { id: string; status: string }[];
    status = list.find((m) => m.id === id)!.status;
    assert.ok(status === 'sent' || status === 'delivered', status);
  }
});

test('GET /phones/{n}/inbox lists what the phone received, decrypted; PUT receipts picks the policy', { timeout: 30_000 }, async () => {
  const set = await call('PUT', `/phones/${bob}/receipts`, { policy: 'read', delayMs: 50 });
  assert.deepEqual([set.status, set.body], [200, { policy: 'read', delayMs: 50 }]);
  const id = (await socket.sendMessage(jid(bob), { text: 'to the inbox' }))!.key.id!;
  await events.waitForStatus(id, READ);
  const inbox = (await call('GET', `/phones/${bob}/inbox`)).body as { from: string; id: string; timestamp: number; receivedAt: number; text: string }[];
  const entry = inbox.find((m) => m.id === id)!;
  assert.deepEqual([entry.from, entry.text], [jid(alice), 'to the inbox']);
  assert.ok(entry.receivedAt <= Date.now() && entry.timestamp > 0);
});

test('POST /groups creates a group the companion sees', { timeout: 30_000 }, async () => {
  const created = await call('POST', '/groups', { subject: 'Ops', participants: [bob, alice] });
  assert.equal(created.status, 201);
  const group = created.body as { jid: string; subject: string; participants: string[] };
  assert.deepEqual(group.participants, [jid(bob), jid(alice)]);
  const all = await socket.groupFetchAllParticipating();
  assert.equal(all[group.jid]?.subject, 'Ops');
});

test('bad requests: unknown phone 404, unknown recipient 404, bad policy 400, missing fields 400', async () => {
  assert.equal((await call('GET', '/phones/6280000000000/inbox')).status, 404);
  assert.equal((await call('POST', `/phones/${bob}/send`, { to: '6280000000000', text: 'x' })).status, 404);
  assert.equal((await call('POST', `/phones/${bob}/send`, { to: alice })).status, 400);
  assert.equal((await call('PUT', `/phones/${bob}/receipts`, { policy: 'sometimes' })).status, 400);
  assert.equal((await call('POST', '/groups', { subject: 'x', participants: ['6280000000000'] })).status, 404);
  assert.equal((await call('POST', '/groups', { subject: 'x' })).status, 400);
});
