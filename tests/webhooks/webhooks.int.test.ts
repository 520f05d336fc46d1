import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { DomainEvent } from '../../src/domain/events.ts';
import { appendToStream, readStream } from '../../src/events/event-store.ts';
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { answerWith, startReceiver, type Receiver } from '../helpers/receivers.ts';
import { until } from '../helpers/wait.ts';
import { MASKED, sealPlainHeaders } from '../../src/webhooks/headers.ts';

// The webhook pipeline on the real platform (API, worker, PostgreSQL, Redis) with real HTTP receivers on loopback.
// Events are appended to the log as the session host appends them; what follows is the platform's own doing.

let platform: TestPlatform;
let device: { id: number; sessionId: string };
let adminId: number;
const receivers: Receiver[] = [];

before(async () => {
  platform = await startTestPlatform({
    ALLOW_PRIVATE_WEBHOOKS: 'true',
    WEBHOOK_RETRY_SCHEDULE: '200ms,200ms,200ms,200ms',
    WEBHOOK_RETRY_JITTER: '0',
    WEBHOOK_TIMEOUT: '30s',
    WEBHOOK_ENDPOINT_CONCURRENCY: '3',
  });
  const res = await api('POST', '/api/whatsapp/devices', { alias: 'hooks', metadata: { crm: 'acct-42' } });
  assert.equal(res.statusCode, 201, res.body);
  device = res.json().device;
  adminId = (await api('GET', '/api/auth/verify')).json().data.id;
  // The device's session isn't wanted here (no WhatsApp): stopping it keeps its lifecycle events out of the way.
  await api('POST', `/api/whatsapp/devices/${device.id}/logout`);
});
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await platform?.close();
});

function api(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) {
  return platform.request({ method, url, headers: { 'x-admin-token': ADMIN_TOKEN }, ...(payload ? { payload } : {}) });
}

async function receiver(...args: Parameters<typeof startReceiver>) {
  const started = await startReceiver(...args);
  receivers.push(started);
  return started;
}

async function endpoint(body: Record<string, unknown>) {
  const res = await api('POST', '/api/whatsapp/webhooks', body);
  assert.equal(res.statusCode, 201, res.body);
  return res.json().data as { id: string; secret: string };
}

const em = () => platform.app.orm.em.fork() as EntityManager;

// An endpoint's row as stored.
const stored = (id: string) =>
  em().getConnection().execute<{ headers: Record<string, string> | null; sealed_headers: Record<string, string> }[]>('select headers, sealed_headers from webhook_endpoints where id = ?', [id]);

// An event of the device, as the session host would append it.
async function emit(event: DomainEvent): Promise<string> {
  const eventId = randomUUID();
  await appendToStream(em(), `test-${randomUUID()}`, [{ event, eventId }], { expectedVersion: 'no-stream', metadata: { tenantId: adminId, deviceId: device.id, sessionId: device.sessionId } });
  return eventId;
}

const received = (text: string): DomainEvent => ({
  type: 'message.received',
  data: { messageId: `msg_${randomUUID().slice(0, 8)}`, waMessageId: '3EB0AA', chatJid: '6281200000001@s.whatsapp.net', from: '6281200000001@s.whatsapp.net', fromLid: '1234@lid', pushName: 'Ana', messageType: 'text', text, timestamp: 1_795_000_000 },
});

async function deliveries(webhookId: string, query = '') {
  const res = await api('GET', `/api/whatsapp/webhooks/${webhookId}/deliveries${query}`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json().data as {
    id: string;
    eventId: string;
    status: string;
    attempts: number;
    lastAttemptAt: string | null;
    nextAttemptAt: string | null;
    attemptLog: { number: number; statusCode: number | null; outcome: string }[];
  }[];
}

test('a delivery is signed both ways, in seed 004’s envelope with the device metadata, and carries no secret', async () => {
  const hook = await receiver();
  const { id, secret } = await endpoint({ url: hook.url, events: ['message'], headers: { 'x-tenant': 'blue' } });
  assert.match(secret, /^whsec_/);
  const eventId = await emit(received('Hello!'));
  await until(() => (hook.requests.length ? true : undefined), 'the delivery');
  const [request] = hook.requests;
  const payload = new Webhook(secret).verify(request!.body, request!.headers as Record<string, string>) as Record<string, any>;
  const seedSnippet = createHmac('sha256', secret).update(JSON.stringify(JSON.parse(request!.body))).digest('hex');
  assert.equal(request!.headers['x-webhook-signature'], seedSnippet);
  assert.equal(request!.headers['webhook-id'], eventId);
  assert.equal(request!.headers['x-tenant'], 'blue');
  assert.equal(request!.headers['x-webhook-event'], 'message');
  assert.deepEqual(
    { id: payload.id, event: payload.event, type: payload.type, eventType: payload.eventType, deviceId: payload.deviceId, sessionId: payload.sessionId, metadata: payload.metadata },
    { id: eventId, event: 'message', type: 'message', eventType: 'message.received', deviceId: String(device.id), sessionId: device.sessionId, metadata: { crm: 'acct-42' } },
    "seed 004's Express receiver switches on `type`: the seed's name; ours is `eventType`",
  );
  assert.equal(payload.data.message, 'Hello!');
  assert.equal(payload.data.fromNumber, '+6281200000001');
  assert.equal(payload.data.timestamp, 1_795_000_000_000);
  assert.doesNotMatch(request!.body, /whsec_|apiKey|api_key/);
  const [delivery] = await until(async () => ((await deliveries(id)).find((d) => d.status === 'delivered') ? deliveries(id) : undefined), 'the delivery recorded');
  assert.equal(delivery!.attempts, 1);
});

test('a receiver failing 3 times then answering 200: delivered on the 4th attempt, each attempt recorded, one webhook-id', async () => {
  const hook = await receiver((req, i, res) => answerWith(i < 3 ? 500 : 200)(req, i, res));
  const { id } = await endpoint({ url: hook.url, events: ['message'] });
  const eventId = await emit(received('flaky'));
  const [delivery] = await until(async () => {
    const list = await deliveries(id);
    return list[0]?.status === 'delivered' ? list : undefined;
  }, 'delivered after retries');
  assert.equal(delivery!.attempts, 4);
  assert.deepEqual(
    delivery!.attemptLog.map((a) => [a.number, a.statusCode, a.outcome]),
    [
      [1, 500, 'retrying'],
      [2, 500, 'retrying'],
      [3, 500, 'retrying'],
      [4, 200, 'delivered'],
    ],
  );
  assert.deepEqual(new Set(hook.requests.map((r) => r.headers['webhook-id'])), new Set([eventId]));
  assert.deepEqual(hook.requests.map((r) => r.headers['x-webhook-attempt']), ['1', '2', '3', '4']);
});

test('a receiver down for the whole schedule: a dead letter; redeliver and replay then deliver it, under the same id', async () => {
  const hook = await receiver(answerWith(503));
  const { id } = await endpoint({ url: hook.url, events: ['message'], maxRetries: 2 });
  const since = new Date().toISOString();
  const eventId = await emit(received('into the void'));
  const dead = await until(async () => {
    const res = await api('GET', '/api/whatsapp/webhooks/dead-letters');
    return (res.json().data as { endpointId: string; eventId: string; attempts: number; id: string }[]).find((d) => d.endpointId === id);
  }, 'the dead letter');
  assert.equal(dead.attempts, 3, 'the first attempt and 2 retries');
  assert.equal(dead.eventId, eventId);
  assert.equal((await deliveries(id, '?status=failed')).length, 1);

  hook.answer = answerWith(200);
  const redelivered = await api('POST', `/api/whatsapp/webhooks/${id}/deliveries/${dead.id}/redeliver`);
  assert.equal(redelivered.statusCode, 202, redelivered.body);
  const done = await until(async () => {
    const res = await api('GET', `/api/whatsapp/webhooks/${id}/deliveries/${dead.id}`);
    return res.json().data.status === 'delivered' ? res.json().data : undefined;
  }, 'redelivered');
  assert.equal(done.attempts, 4);
  assert.equal((await api('POST', `/api/whatsapp/webhooks/${id}/deliveries/${dead.id}/redeliver`)).statusCode, 202, 'a delivered one may be sent again too');

  const replayed = await api('POST', `/api/whatsapp/webhooks/${id}/replay`, { since });
  assert.equal(replayed.statusCode, 202, replayed.body);
  assert.match(replayed.json().data.replayId, /^rpl_/);
  await until(async () => ((await deliveries(id)).filter((d) => d.status === 'delivered' && d.eventId === eventId).length === 2 ? true : undefined), 'the replay delivered');
  const ok = hook.requests.filter((r, i) => i >= 3);
  assert.ok(ok.length >= 2);
  assert.ok(ok.every((r) => r.headers['webhook-id'] === eventId), 'every copy carries the event id');
});

test('Retry-After is honoured: the next attempt is due when the receiver asked, not on the schedule', async () => {
  const hook = await receiver(answerWith(429, { 'retry-after': '3600' }));
  const { id } = await endpoint({ url: hook.url, events: ['message'] });
  await emit(received('later please'));
  const [delivery] = await until(async () => {
    const list = await deliveries(id);
    return list[0]?.status === 'retrying' ? list : undefined;
  }, 'the first attempt recorded');
  const wait = Date.parse(delivery!.nextAttemptAt!) - Date.parse(delivery!.lastAttemptAt!);
  assert.ok(Math.abs(wait - 3_600_000) < 5000, `next attempt in ${wait} ms`);
  assert.equal(delivery!.attemptLog[0]!.statusCode, 429);
});

test('qr and connection events in seed 004’s shapes', async () => {
  const hook = await receiver();
  await endpoint({ url: hook.url, events: ['qr', 'connection'] });
  await emit({ type: 'device.qr-issued', data: { qr: '2@abc,def,ghi' } });
  await emit({ type: 'device.connected', data: { phoneNumber: '+6281200000009', name: 'Toko Ana' } });
  await until(() => (hook.requests.length === 2 ? true : undefined), 'both events');
  // Deliveries of different events may arrive in any order.
  const [connection, qr] = hook.requests.map((r) => JSON.parse(r.body)).sort((a, b) => a.event.localeCompare(b.event));
  assert.deepEqual([qr.event, qr.type, qr.eventType], ['qr', 'qr', 'device.qr-issued']);
  assert.match(qr.data.qrCode, /^data:image\/png;base64,/);
  assert.equal(qr.data.qr, '2@abc,def,ghi');
  assert.deepEqual([connection.event, connection.type, connection.eventType], ['connection', 'connection', 'device.connected']);
  assert.deepEqual(connection.data, { status: 'connected', phoneNumber: '+6281200000009', device: 'Toko Ana' });
});

test('a slow receiver does not delay a fast one: the fast gets everything while the slow holds its slots', async () => {
  const held: (() => void)[] = [];
  const slow = await receiver((_req, _i, res) => held.push(() => res.writeHead(200).end('late')));
  const fast = await receiver();
  const slowHook = await endpoint({ url: slow.url, events: ['campaign.*'] });
  await endpoint({ url: fast.url, events: ['campaign.*'] });
  for (let i = 0; i < 20; i++) await emit({ type: 'campaign.paused', data: { campaignId: `cmp_${i}` } });
  await until(() => (fast.requests.length === 20 ? true : undefined), 'the fast receiver got all 20');
  const { event, type, eventType } = JSON.parse(fast.requests[0]!.body);
  assert.deepEqual([event, type, eventType], ['campaign.paused', 'campaign.paused', 'campaign.paused'], 'an event seed 004 has no name for keeps ours');
  assert.equal(slow.requests.length, 3, 'the slow one has exactly its 3 slots (WEBHOOK_ENDPOINT_CONCURRENCY) in flight');
  const release = async () => {
    while (held.length) held.shift()!();
  };
  await until(async () => {
    await release();
    return (await deliveries(slowHook.id, '?status=delivered&limit=50')).length === 20 ? true : undefined;
  }, 'the slow receiver caught up');
});

test('410 Gone disables the endpoint with its reason; re-enabling with replayMissed sends what it missed', async () => {
  const hook = await receiver(answerWith(410));
  const { id } = await endpoint({ url: hook.url, events: ['message'] });
  await emit(received('gone'));
  const disabled = await until(async () => {
    const res = await api('GET', `/api/whatsapp/webhooks/${id}`);
    return res.json().data.enabled === false ? res.json().data : undefined;
  }, 'disabled');
  assert.match(disabled.disabledReason, /410/);
  const log = await readStream(em(), `webhook-endpoint-${id}`);
  // The endpoint's stream: its creation (the audit trail), then the platform's disable.
  assert.deepEqual(log.map((e) => e.type), ['webhook.endpoint-created', 'webhook.endpoint-disabled']);

  hook.answer = answerWith(200);
  const missedId = await emit(received('while disabled'));
  const res = await api('PUT', `/api/whatsapp/webhooks/${id}`, { enabled: true, replayMissed: true });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().data.enabled, true);
  assert.match(res.json().data.replayId, /^rpl_/);
  await until(() => (hook.requests.some((r) => r.headers['webhook-id'] === missedId) ? true : undefined), 'the missed event replayed');
});

test('an endpoint failing for longer than WEBHOOK_DISABLE_AFTER is disabled', async () => {
  const hook = await receiver(answerWith(500));
  const { id } = await endpoint({ url: hook.url, events: ['message'], maxRetries: 0 });
  await emit(received('first failure'));
  await until(async () => ((await api('GET', `/api/whatsapp/webhooks/${id}`)).json().data.failingSince ? true : undefined), 'failing since');
  platform.advance(6 * 86_400_000);
  try {
    await emit(received('still failing, days later'));
    const disabled = await until(async () => {
      const data = (await api('GET', `/api/whatsapp/webhooks/${id}`)).json().data;
      return data.enabled ? undefined : data;
    }, 'disabled after days of failures');
    assert.match(disabled.disabledReason, /failing since/);
  } finally {
    platform.advance(-6 * 86_400_000);
  }
});

test('rotating a secret: the new one is shown once and both sign during the grace period', async () => {
  const hook = await receiver();
  const { id, secret: old } = await endpoint({ url: hook.url, events: ['message'] });
  const rotated = await api('POST', `/api/whatsapp/webhooks/${id}/rotate-secret`);
  assert.equal(rotated.statusCode, 200, rotated.body);
  const fresh = rotated.json().data.secret as string;
  assert.notEqual(fresh, old);
  assert.equal((await api('GET', `/api/whatsapp/webhooks/${id}`)).json().data.secret, undefined, 'never shown again');
  await emit(received('rotated'));
  await until(() => (hook.requests.length ? true : undefined), 'delivered');
  const [request] = hook.requests;
  new Webhook(fresh).verify(request!.body, request!.headers as Record<string, string>);
  new Webhook(old).verify(request!.body, request!.headers as Record<string, string>);
  assert.equal(request!.headers['x-webhook-signature'], createHmac('sha256', fresh).update(request!.body).digest('hex'));
});

test('the test ping reports the receiver’s answer', async () => {
  const hook = await receiver(answerWith(202));
  const { id, secret } = await endpoint({ url: hook.url });
  const res = await api('POST', `/api/whatsapp/webhooks/${id}/test`);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().data.delivered, true);
  assert.equal(res.json().data.statusCode, 202);
  const payload = new Webhook(secret).verify(hook.requests[0]!.body, hook.requests[0]!.headers as Record<string, string>) as Record<string, string>;
  assert.deepEqual([payload.event, payload.type, payload.eventType], ['ping', 'ping', 'webhook.ping']);
});

test('custom headers: values sealed at rest, sent with deliveries and the test ping, masked in every view, resealed on change', async () => {
  const hook = await receiver();
  const auth = `Bearer receiver-own-${randomUUID()}`;
  const created = await api('POST', '/api/whatsapp/webhooks', { url: hook.url, events: ['message'], headers: { Authorization: auth, 'x-tenant': 'blue' } });
  assert.equal(created.statusCode, 201, created.body);
  const { id } = created.json().data;
  const masked = { Authorization: MASKED, 'x-tenant': MASKED };
  assert.deepEqual(created.json().data.headers, masked, 'names shown, values masked, even in the answer that created it');
  assert.deepEqual((await api('GET', `/api/whatsapp/webhooks/${id}`)).json().data.headers, masked);
  assert.deepEqual((await api('GET', '/api/whatsapp/webhooks')).json().data.find((e: { id: string }) => e.id === id).headers, masked);

  const [row] = await stored(id);
  assert.equal(row!.headers, null, 'nothing in the plain column');
  assert.deepEqual(Object.keys(row!.sealed_headers).sort(), ['Authorization', 'x-tenant']);
  for (const value of Object.values(row!.sealed_headers)) assert.match(value, /^v1\./);
  assert.ok(!JSON.stringify(row).includes(auth) && !JSON.stringify(row).includes('blue'), 'no value in the row');

  await emit(received('with headers'));
  await until(() => (hook.requests.length ? true : undefined), 'the delivery');
  assert.equal(hook.requests[0]!.headers.authorization, auth);
  assert.equal(hook.requests[0]!.headers['x-tenant'], 'blue');

  const changed = await api('PUT', `/api/whatsapp/webhooks/${id}`, { headers: { Authorization: 'Bearer rotated-receiver-key' } });
  assert.equal(changed.statusCode, 200, changed.body);
  assert.deepEqual(changed.json().data.headers, { Authorization: MASKED });
  assert.ok(!JSON.stringify(await stored(id)).includes('rotated-receiver-key'));
  assert.equal((await api('POST', `/api/whatsapp/webhooks/${id}/test`)).json().data.delivered, true);
  assert.equal(hook.requests.at(-1)!.headers.authorization, 'Bearer rotated-receiver-key');
  assert.equal(hook.requests.at(-1)!.headers['x-tenant'], undefined, 'the new set replaced the old');

  // A value sealed for one endpoint does not open for another (a swapped row fails, it is not sent).
  const other = await endpoint({ url: hook.url, events: ['nothing.*'] });
  await em().getConnection().execute('update webhook_endpoints set sealed_headers = (select sealed_headers from webhook_endpoints where id = ?) where id = ?', [id, other.id]);
  const swapped = await api('POST', `/api/whatsapp/webhooks/${other.id}/test`);
  assert.equal(swapped.statusCode, 500);
});

test('headers stored in plain text before sealing are sealed at start-up, once, and still delivered', async () => {
  const hook = await receiver();
  const { id } = await endpoint({ url: hook.url, events: ['nothing.*'] });
  // As the migration leaves a row written before it: the plain values in `headers`, nothing sealed.
  await em().getConnection().execute(`update webhook_endpoints set headers = '{"Authorization": "Bearer from-before"}', sealed_headers = '{}' where id = ?`, [id]);
  assert.ok((await sealPlainHeaders(em(), platform.config.encryptionKey)) >= 1);
  assert.equal(await sealPlainHeaders(em(), platform.config.encryptionKey), 0, 'nothing left to seal');
  const [row] = await stored(id);
  assert.equal(row!.headers, null);
  assert.match(row!.sealed_headers.Authorization!, /^v1\./);
  assert.deepEqual((await api('GET', `/api/whatsapp/webhooks/${id}`)).json().data.headers, { Authorization: MASKED });
  assert.equal((await api('POST', `/api/whatsapp/webhooks/${id}/test`)).json().data.delivered, true);
  assert.equal(hook.requests.at(-1)!.headers.authorization, 'Bearer from-before');
});

test('seed 004 device settings: PUT creates or changes the device’s endpoint, GET shows it, an empty URL removes it', async () => {
  const hook = await receiver();
  const empty = await api('GET', `/api/whatsapp/devices/${device.id}/settings/webhook`);
  assert.deepEqual(empty.json().data.webhookUrl, null);
  const put = await api('PUT', `/api/whatsapp/devices/${device.id}/settings/webhook`, {
    webhookUrl: hook.url,
    enabled: true,
    events: ['message', 'connection', 'qr', 'status'],
    secret: 'your-webhook-secret',
    retryOnFailure: true,
    maxRetries: 3,
  });
  assert.equal(put.statusCode, 200, put.body);
  assert.equal(put.json().data.secret, undefined, 'a secret the caller chose is not echoed');
  const got = (await api('GET', `/api/whatsapp/devices/${device.id}/settings/webhook`)).json().data;
  assert.deepEqual({ ...got, webhookId: undefined }, { webhookUrl: hook.url, enabled: true, events: ['message', 'connection', 'qr', 'status'], retryOnFailure: true, maxRetries: 3, webhookId: undefined });
  await emit({ type: 'message.delivered', data: { messageId: 'msg_status' } });
  await until(() => (hook.requests.length ? true : undefined), 'the status event');
  const body = JSON.parse(hook.requests[0]!.body);
  assert.equal(body.event, 'status');
  assert.deepEqual({ messageId: body.data.messageId, status: body.data.status }, { messageId: 'msg_status', status: 'delivered' });
  assert.equal(hook.requests[0]!.headers['x-webhook-signature'], createHmac('sha256', 'your-webhook-secret').update(JSON.stringify(body)).digest('hex'));
  const removed = await api('PUT', `/api/whatsapp/devices/${device.id}/settings/webhook`, { webhookUrl: null });
  assert.equal(removed.json().data.webhookUrl, null);
  assert.equal((await api('GET', `/api/whatsapp/webhooks/${got.webhookId}`)).statusCode, 404);
});

test('seed 003: webhook_url on a session gets {session_id, message} for received messages only, session_id its id', async () => {
  const hook = await receiver();
  const created = await api('POST', '/api/sessions', { name: 'seed3-hooks', webhook_url: hook.url });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal(created.json().webhook_url, hook.url);
  const session = created.json();
  const other = await receiver();
  const changed = await api('PUT', `/api/sessions/${session.id}/webhook`, { webhook_url: other.url });
  assert.equal(changed.json().webhook_url, other.url);
  const metadata = { tenantId: adminId, deviceId: session.id, sessionId: session.session_id };
  await appendToStream(em(), `test-${randomUUID()}`, [{ event: { type: 'message.sent', data: { messageId: 'msg_x', waMessageId: '3EB0BB' } } }, { event: received('hi seed 3') }], {
    expectedVersion: 'no-stream',
    metadata,
  });
  await until(() => (other.requests.length ? true : undefined), 'the seed 003 delivery');
  const body = JSON.parse(other.requests[0]!.body);
  assert.deepEqual(body.message, { id: '3EB0AA', from: '6281200000001@s.whatsapp.net', to: null, message: 'hi seed 3', timestamp: 1_795_000_000 });
  assert.equal(body.session_id, String(session.id), "the session's id, as /api/sessions/{id} takes it");
  assert.equal((await api('GET', `/api/sessions/${body.session_id}`)).json().session_id, session.session_id);
  assert.equal(hook.requests.length, 0, 'the replaced URL gets nothing');
  assert.equal(other.requests.length, 1, 'message.sent is not a seed 003 payload');
  assert.equal((await api('PUT', `/api/sessions/${session.id}/webhook`, { webhook_url: '' })).json().webhook_url, null);
});

test('validation: bad filters, reserved headers and bad URLs are 400s; another user’s endpoint is 404', async () => {
  const hook = await receiver();
  const bad = [
    { url: hook.url, events: ['Message!'] },
    { url: hook.url, headers: { 'webhook-signature': 'forged' } },
    { url: 'ftp://example.com/x' },
    { url: hook.url, maxRetries: 99 },
  ];
  for (const body of bad) {
    const res = await api('POST', '/api/whatsapp/webhooks', body);
    assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
    assert.equal(res.json().success, false);
  }
  assert.equal((await api('POST', '/api/whatsapp/webhooks', { url: 'ftp://example.com/x' })).json().code, 'INVALID_WEBHOOK_URL');
  const mine = await endpoint({ url: hook.url });
  const user = await api('POST', '/api/whatsapp/admin/users', { username: 'hook-other', password: 'password-of-other' });
  assert.equal(user.statusCode, 201, user.body);
  const login = await platform.request({ method: 'POST', url: '/api/auth/login', payload: { username: 'hook-other', password: 'password-of-other' } });
  const res = await platform.request({ method: 'GET', url: `/api/whatsapp/webhooks/${mine.id}`, headers: { authorization: `Bearer ${login.json().data.token}` } });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().code, 'WEBHOOK_NOT_FOUND');
});

test('private addresses are refused when ALLOW_PRIVATE_WEBHOOKS is off', async () => {
  const strict = await startTestPlatform({ ALLOW_PRIVATE_WEBHOOKS: 'false' });
  try {
    for (const url of ['http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://169.254.169.254/latest', 'http://10.0.0.5/x']) {
      const res = await strict.request({ method: 'POST', url: '/api/whatsapp/webhooks', headers: { 'x-admin-token': ADMIN_TOKEN }, payload: { url } });
      assert.equal(res.statusCode, 400, url);
      assert.equal(res.json().code, 'INVALID_WEBHOOK_URL', url);
    }
  } finally {
    await strict.close();
  }
});
