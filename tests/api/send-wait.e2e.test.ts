import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN_TOKEN, bearer, type TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';
import { useLinkedPlatform, type LinkedDevice } from '../helpers/whatsapp.ts';
import type { WhatsAppSimulator } from '../../simulator/server.ts';

// The opt-in wait on sends: through real Baileys and the simulator, the answer waits for WhatsApp's server ack
// (200 `sent`), for a failure (its code and the message id), or runs out (202 `timedOut`, the message still going).
// SEND_MAX_WAIT is short so a message of a device that never connects fails within the test.
let sim: WhatsAppSimulator;
let platform: TestPlatform;
let user: { id: number; username: string; token: string };
let device: LinkedDevice;
useLinkedPlatform({ SEND_MIN_INTERVAL: '50ms', SEND_MAX_WAIT: '3s' }, { username: 'waiter', alias: 'counter', number: '6281400000001' }, (linked) => ({ sim, platform, user, device } = linked));

const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
  platform.request({ method: 'POST', url, headers: { ...bearer(user.token), ...headers }, payload });
const get = async (url: string) => (await platform.request({ method: 'GET', url, headers: bearer(user.token) })).json().data;
const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const start = Date.now();
  const result = await work();
  return [result, Date.now() - start];
};

test('?wait=sent and Prefer: wait=N answer 200 `sent` once WhatsApp acked, on every send route; without, 202 `queued` as before', { timeout: 90_000 }, async () => {
  const contact = sim.createPhone('6281400000101');
  sim.setReceipts(contact.number, { policy: 'none', delayMs: 0 });

  const res = await post('/api/whatsapp/send?wait=sent', { sessionId: device.sessionId, phoneNumber: `+${contact.number}`, message: 'Waited for' });
  assert.equal(res.statusCode, 200, res.body);
  const data = res.json().data;
  assert.deepEqual(Object.keys(data).sort(), ['messageId', 'status', 'timedOut', 'timestamp']);
  assert.equal(data.status, 'sent');
  assert.equal(data.timedOut, false);
  assert.ok(sim.inbox(contact.number).some((m) => m.text === 'Waited for'), 'the phone has it by the time the answer comes');
  const status = await until(async () => {
    const s = await get(`/api/whatsapp/messages/${data.messageId}/status`);
    return s.sentAt ? s : undefined;
  }, 'sentAt in the status');
  assert.equal(status.sentAt, data.timestamp, 'timestamp is when WhatsApp acked it');
  for (const field of ['messageId', 'status', 'sentAt', 'deliveredAt', 'readAt']) assert.ok(field in status, `status has seed 004's ${field}`);

  const byKey = await platform.request({
    method: 'POST',
    url: '/api/whatsapp/device/send',
    headers: { 'x-device-api-key': device.apiKey, prefer: 'respond-async, wait=10' },
    payload: { phoneNumber: contact.number, message: 'Waited for, by device key' },
  });
  assert.equal(byKey.statusCode, 200, byKey.body);
  assert.equal(byKey.json().data.status, 'sent');

  const location = await post('/api/whatsapp/send/location?wait=sent', { sessionId: device.sessionId, phoneNumber: contact.number, latitude: -6.2, longitude: 106.8 });
  assert.equal(location.statusCode, 200, location.body);

  const seed003 = await post(`/api/sessions/${device.id}/send?wait=sent`, { recipient: contact.number, message: 'Seed 003, waited for' });
  assert.equal(seed003.statusCode, 200, seed003.body);
  assert.deepEqual([seed003.json().status, seed003.json().timed_out, typeof seed003.json().message_id], ['sent', false, 'string']);
  const byPhone = await post('/api/send', { phone: `+${device.number}`, recipient: contact.number, message: 'Seed 003 by phone, waited for' }, { prefer: 'wait=10' });
  assert.equal(byPhone.statusCode, 200, byPhone.body);

  const plain = await post('/api/whatsapp/send', { sessionId: device.sessionId, phoneNumber: contact.number, message: 'Not waited for' });
  assert.equal(plain.statusCode, 202);
  assert.deepEqual(Object.keys(plain.json().data).sort(), ['messageId', 'status', 'timestamp'], 'no timedOut unless a wait was asked');
  assert.equal(plain.json().data.status, 'queued');

  // Replaying a sent message's Idempotency-Key with a wait answers from its log at once, and sends nothing again.
  const payload = { sessionId: device.sessionId, phoneNumber: contact.number, message: 'Once, waited for twice' };
  const first = await post('/api/whatsapp/send?wait=sent', payload, { 'idempotency-key': 'wait-once' });
  assert.equal(first.statusCode, 200, first.body);
  const [again, ms] = await timed(() => post('/api/whatsapp/send?wait=sent', payload, { 'idempotency-key': 'wait-once' }));
  assert.equal(again.statusCode, 200);
  assert.equal(again.headers['idempotent-replayed'], 'true');
  assert.deepEqual(again.json().data, first.json().data);
  assert.ok(ms < 2000, `answered from the log (${ms} ms)`);
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(sim.inbox(contact.number).filter((m) => m.text === 'Once, waited for twice').length, 1);

  const stats = await get(`/api/whatsapp/users/${user.username}/sending-stats`);
  assert.deepEqual(Object.keys(stats).sort(), ['byStatus', 'successRate', 'thisWeek', 'today', 'totalFailed', 'totalSent']);
  for (const key of ['sent', 'delivered', 'read', 'failed']) assert.equal(typeof stats.byStatus[key], 'number', `byStatus.${key}`);
  assert.deepEqual(Object.keys(stats.today).sort(), ['failed', 'sent']);
  assert.deepEqual(Object.keys(stats.thisWeek).sort(), ['failed', 'sent']);
});

test('a device that never connects: the wait runs out with 202 `timedOut` and the id; then the failure comes with its code and the id', { timeout: 90_000 }, async () => {
  const created = await post('/api/whatsapp/devices', { alias: 'never-scanned' });
  assert.equal(created.statusCode, 201, created.body);
  const { sessionId } = created.json().device;
  const payload = { sessionId, phoneNumber: '6281400000102', message: 'Nobody will carry this' };

  const [res, ms] = await timed(() => post('/api/whatsapp/send', payload, { 'idempotency-key': 'stranded', prefer: 'wait=1' }));
  assert.equal(res.statusCode, 202, res.body);
  const { messageId, status, timedOut } = res.json().data;
  assert.deepEqual([status, timedOut], ['queued', true]);
  assert.match(messageId, /^msg_/);
  assert.ok(ms >= 900 && ms < 5000, `waited about a second (${ms} ms)`);

  // Waiting again (same key): the worker gives up after SEND_MAX_WAIT and the wait answers with that failure.
  // A waiting request is no live client in the server's figures.
  const liveClients = async () =>
    (await platform.request({ method: 'GET', url: '/api/whatsapp/server/stats', headers: { 'x-admin-token': ADMIN_TOKEN } })).json().data.liveClients as number;
  const clientsBefore = await liveClients();
  const waiting = post('/api/whatsapp/send', payload, { 'idempotency-key': 'stranded', prefer: 'wait=30' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(await liveClients(), clientsBefore);
  const failed = await waiting;
  assert.equal(failed.statusCode, 409, failed.body);
  assert.equal(failed.json().success, false);
  assert.equal(failed.json().code, 'DEVICE_NOT_CONNECTED');
  assert.equal(failed.json().details.messageId, messageId);
  assert.equal(failed.json().details.status, 'failed');
  assert.equal(failed.headers['idempotent-replayed'], 'true');

  const [known, knownMs] = await timed(() => post('/api/whatsapp/send?wait=sent', payload, { 'idempotency-key': 'stranded' }));
  assert.equal(known.statusCode, 409, 'a failed message answers its failure at once');
  assert.ok(knownMs < 2000, `${knownMs} ms`);
  const unwaited = await post('/api/whatsapp/send', payload, { 'idempotency-key': 'stranded' });
  assert.deepEqual([unwaited.statusCode, unwaited.json().data.status], [202, 'failed']);

  // A resend with a wait waits for the resend's own outcome, not the earlier failure.
  const [resent, resentMs] = await timed(() => post(`/api/whatsapp/messages/${messageId}/resend`, {}, { prefer: 'wait=30' }));
  assert.equal(resent.statusCode, 409, resent.body);
  assert.equal(resent.json().details.messageId, messageId);
  assert.ok(resentMs >= 2500, `the resend failed on its own (${resentMs} ms)`);
});

test('a wait out of range or of an unknown kind is 400 and queues nothing', async () => {
  const payload = { sessionId: device.sessionId, phoneNumber: '6281400000103', message: 'Never queued' };
  for (const [query, prefer] of [
    ['', 'wait=31'],
    ['', 'wait=0'],
    ['', 'wait=soon'],
    ['?wait=delivered', undefined],
    ['?wait=sent', 'wait=100'],
  ] as const) {
    const res = await post(`/api/whatsapp/send${query}`, payload, { 'idempotency-key': 'refused-wait', ...(prefer ? { prefer } : {}) });
    assert.equal(res.statusCode, 400, `${query} ${prefer}: ${res.body}`);
    assert.equal(res.json().code, 'VALIDATION_ERROR');
  }
  const seed003 = await post(`/api/sessions/${device.id}/send`, { recipient: '6281400000103', message: 'x' }, { prefer: 'wait=31' });
  assert.equal(seed003.statusCode, 400);
  const fresh = await post('/api/whatsapp/send', payload, { 'idempotency-key': 'refused-wait' });
  assert.equal(fresh.statusCode, 202);
  assert.equal(fresh.headers['idempotent-replayed'], undefined, 'the refused requests queued nothing under that key');
});
