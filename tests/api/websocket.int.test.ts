import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import type { DomainEvent } from '../../src/domain/events.ts';
import { appendToStream } from '../../src/events/event-store.ts';
import { listenWsPort } from '../../src/api/ws-port.ts';
import { API_TOKEN, bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';

let sim: WhatsAppSimulator;
let platform: TestPlatform;
let wsBase: string;
before(async () => {
  sim = new WhatsAppSimulator();
  const { url } = await sim.listen();
  platform = await startTestPlatform({ WA_WEBSOCKET_URL: url, SESSION_SCAN_INTERVAL: '200ms' });
  wsBase = (await platform.app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
});
after(async () => {
  await platform.close();
  await sim.close();
});

async function append(tenantId: number, sessionId: string, event: DomainEvent) {
  await appendToStream(platform.app.orm.em.fork(), `device-${randomUUID()}`, [{ event }], { expectedVersion: 'any', metadata: { tenantId, deviceId: 1, sessionId } });
}

interface Client {
  socket: WebSocket;
  received: Record<string, unknown>[];
  next(): Promise<Record<string, unknown>>;
}

async function connect(url: string): Promise<Client> {
  const socket = new WebSocket(url);
  const received: Record<string, unknown>[] = [];
  let waiting: (() => void) | undefined;
  socket.on('message', (raw) => {
    received.push(JSON.parse(String(raw)));
    waiting?.();
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let read = 0;
  return {
    socket,
    received,
    async next() {
      while (received.length <= read) await new Promise<void>((resolve) => (waiting = resolve));
      return received[read++]!;
    },
  };
}

const RECEIVED = { messageId: 'm1', waMessageId: 'WA1', chatJid: '628222@s.whatsapp.net', from: '628222@s.whatsapp.net', fromLid: '123@lid', messageType: 'text', text: 'Hello!', timestamp: 1704283200 };

test('seed 004 /ws?format=flat: its "WebSocket Events" for the subscribed session only', async () => {
  const alice = await createUser(platform, 'ws-alice');
  const bob = await createUser(platform, 'ws-bob');
  const session = `user_${alice.id}_device_phone`;
  const client = await connect(`${wsBase}/ws?token=${alice.token}&format=flat`);
  client.socket.send(JSON.stringify({ type: 'subscribe', sessionId: session }));
  assert.deepEqual(await client.next(), { type: 'subscribed', sessionId: session, format: 'flat' });

  await append(alice.id, 'another-session', { type: 'device.qr-issued', data: { qr: 'not-for-this-session' } });
  await append(bob.id, session, { type: 'device.qr-issued', data: { qr: 'bobs-secret-qr' } });
  await append(alice.id, session, { type: 'device.qr-issued', data: { qr: '2@ref,noise,identity,adv' } });
  await append(alice.id, session, { type: 'device.connecting', data: {} });
  await append(alice.id, session, { type: 'device.connected', data: { phoneNumber: '+628111' } });
  await append(alice.id, session, { type: 'message.received', data: RECEIVED });
  await append(alice.id, session, { type: 'message.delivered', data: { messageId: 'm0' } });
  await append(alice.id, session, { type: 'device.disconnected', data: { reason: 'connection lost' } });

  assert.deepEqual(await client.next(), { type: 'qr', sessionId: session, qr: '2@ref,noise,identity,adv' });
  assert.deepEqual(await client.next(), { type: 'session_update', sessionId: session, status: 'connecting' });
  assert.deepEqual(await client.next(), { type: 'connection', sessionId: session, status: 'connected', phoneNumber: '+628111' });
  assert.deepEqual(await client.next(), {
    type: 'message',
    sessionId: session,
    message: { id: 'WA1', from: '628222@s.whatsapp.net', fromLid: '123@lid', body: 'Hello!', type: 'text', timestamp: 1704283200 },
  });
  // Receipts have no flat shape: the next message is the disconnect.
  assert.deepEqual(await client.next(), { type: 'session_update', sessionId: session, status: 'disconnected', reason: 'connection lost' });

  client.socket.send(JSON.stringify({ type: 'unsubscribe', sessionId: session }));
  assert.deepEqual(await client.next(), { type: 'unsubscribed', sessionId: session });
  await append(alice.id, session, { type: 'device.logged-out', data: {} });
  client.socket.send(JSON.stringify({ type: 'ping' }));
  assert.equal((await client.next()).type, 'error', 'after unsubscribing, the next message is the answer to the bad one');
  client.socket.close();
});

test('seed 004 /ws with "format": "data" on subscribe: its Best Practices names over the webhooks\' data', async () => {
  const user = await createUser(platform, 'ws-data');
  const session = `user_${user.id}_device_data`;
  const client = await connect(`${wsBase}/ws?token=${user.token}`);
  client.socket.send(JSON.stringify({ type: 'subscribe', sessionId: session, format: 'data' }));
  assert.deepEqual(await client.next(), { type: 'subscribed', sessionId: session, format: 'data' });

  await append(user.id, session, { type: 'device.qr-issued', data: { qr: '2@ref,noise,identity,adv' } });
  await append(user.id, session, { type: 'device.pairing-code-issued', data: { code: 'ABCD1234' } });
  await append(user.id, session, { type: 'device.connecting', data: {} });
  await append(user.id, session, { type: 'device.connected', data: { phoneNumber: '+628111', name: 'Office phone' } });
  await append(user.id, session, { type: 'message.received', data: RECEIVED });
  await append(user.id, session, { type: 'message.delivered', data: { messageId: 'm0' } });
  await append(user.id, session, { type: 'device.disconnected', data: { reason: 'connection lost' } });
  await append(user.id, session, { type: 'device.failed', data: { message: 'stream errored' } });
  await append(user.id, session, { type: 'device.logged-out', data: {} });

  const qr = await client.next();
  assert.equal(qr.type, 'qr_code');
  assert.equal(qr.sessionId, session);
  const qrData = qr.data as { qrCode: string; qr: string };
  assert.equal(qrData.qr, '2@ref,noise,identity,adv');
  assert.match(qrData.qrCode, /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
  assert.deepEqual(await client.next(), { type: 'pairing_code_issued', sessionId: session, data: { code: 'ABCD1234' } });
  assert.deepEqual(await client.next(), { type: 'device_connecting', sessionId: session, data: { status: 'connecting', phoneNumber: null } });
  assert.deepEqual(await client.next(), {
    type: 'device_connected',
    sessionId: session,
    data: { status: 'connected', phoneNumber: '+628111', device: 'Office phone' },
  });
  assert.deepEqual(await client.next(), {
    type: 'message_received',
    sessionId: session,
    data: {
      messageId: 'm1',
      waMessageId: 'WA1',
      chatJid: '628222@s.whatsapp.net',
      from: '628222@s.whatsapp.net',
      fromNumber: '+628222',
      fromLid: '123@lid',
      message: 'Hello!',
      type: 'text',
      timestamp: 1704283200000,
    },
  });
  const delivered = await client.next();
  assert.equal(delivered.type, 'message_delivered');
  assert.deepEqual({ ...(delivered.data as object), timestamp: 0 }, { messageId: 'm0', status: 'delivered', timestamp: 0 });
  assert.deepEqual(await client.next(), {
    type: 'device_disconnected',
    sessionId: session,
    data: { status: 'disconnected', phoneNumber: null, reason: 'connection lost' },
  });
  assert.deepEqual(await client.next(), { type: 'device_error', sessionId: session, data: { status: 'error', phoneNumber: null, error: 'stream errored' } });
  assert.deepEqual(await client.next(), { type: 'device_logged_out', sessionId: session, data: { status: 'logged_out', phoneNumber: null } });
  client.socket.close();
});

test('seed 004 /ws by default sends each event in both schemes, flat first; a subscription may choose one', async () => {
  const user = await createUser(platform, 'ws-both');
  const both = `user_${user.id}_device_both`;
  const flatOnly = `user_${user.id}_device_flat`;
  const client = await connect(`${wsBase}/ws?token=${user.token}`);
  client.socket.send(JSON.stringify({ type: 'subscribe', sessionId: both }));
  assert.deepEqual(await client.next(), { type: 'subscribed', sessionId: both, format: 'both' });
  client.socket.send(JSON.stringify({ type: 'subscribe', sessionId: flatOnly, format: 'flat' }));
  assert.deepEqual(await client.next(), { type: 'subscribed', sessionId: flatOnly, format: 'flat' });

  await append(user.id, both, { type: 'device.qr-issued', data: { qr: 'QR-both' } });
  await append(user.id, flatOnly, { type: 'device.qr-issued', data: { qr: 'QR-flat' } });
  await append(user.id, both, { type: 'device.connected', data: { phoneNumber: '+628111' } });
  await append(user.id, both, { type: 'message.received', data: RECEIVED });

  const types = [];
  for (let i = 0; i < 7; i++) {
    const message = await client.next();
    assert.ok(message.sessionId === both || message.sessionId === flatOnly, JSON.stringify(message));
    types.push(`${message.sessionId === both ? 'both' : 'flat'}:${message.type}`);
  }
  assert.deepEqual(types, [
    'both:qr',
    'both:qr_code',
    'flat:qr',
    'both:connection',
    'both:device_connected',
    'both:message',
    'both:message_received',
  ]);
  client.socket.send(JSON.stringify({ type: 'subscribe', sessionId: both, format: 'xml' }));
  assert.deepEqual(await client.next(), { type: 'error', error: 'format must be one of both, flat, data' });
  client.socket.close();
});

test("subscribing to a device showing a QR sends that QR first; an administrator may subscribe to any user's session", async () => {
  const user = await createUser(platform, 'ws-current-qr');
  const created = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers: bearer(user.token), payload: { alias: 'current-qr' } });
  const { id, sessionId } = created.json().device;
  const qr = await until(async () => {
    const res = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${id}/qr`, headers: bearer(user.token) });
    return res.statusCode === 200 ? String(res.json().qr) : undefined;
  }, 'a QR');
  // Seed 004's flow: the QR may be issued between creating the device and subscribing.
  for (const token of [user.token, API_TOKEN]) {
    const client = await connect(`${wsBase}/ws?token=${token}&format=flat`);
    client.socket.send(JSON.stringify({ type: 'subscribe', sessionId }));
    assert.deepEqual(await client.next(), { type: 'subscribed', sessionId, format: 'flat' });
    assert.deepEqual(await client.next(), { type: 'qr', sessionId, qr });
    client.socket.close();
  }
  const stranger = await createUser(platform, 'ws-stranger');
  const client = await connect(`${wsBase}/ws?token=${stranger.token}&format=flat`);
  client.socket.send(JSON.stringify({ type: 'subscribe', sessionId }));
  assert.deepEqual(await client.next(), { type: 'subscribed', sessionId, format: 'flat' });
  client.socket.send(JSON.stringify({ type: 'ping' }));
  assert.equal((await client.next()).type, 'error', "another user's QR never arrives");
  client.socket.close();
});

test('seed 003 /api/ws/{sessionId}: qr, success and error in seed 003 shapes', async () => {
  const user = await createUser(platform, 'ws-seed3');
  const session = `user_${user.id}_device_s3`;
  const client = await connect(`${wsBase}/api/ws/${session}?token=${user.token}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await append(user.id, session, { type: 'device.qr-issued', data: { qr: 'QR-1' } });
  await append(user.id, session, { type: 'device.connected', data: { phoneNumber: '+62833' } });
  await append(user.id, session, { type: 'device.failed', data: { message: 'stream errored' } });
  assert.deepEqual(await client.next(), { type: 'qr', data: { qr: 'QR-1' } });
  assert.deepEqual(await client.next(), { type: 'success', data: { phoneNumber: '+62833' } });
  assert.deepEqual(await client.next(), { type: 'error', data: { error: 'stream errored' } });
  client.socket.close();
});

// A browser's WebSocket cannot read the answer to a refused upgrade, so the refusal comes over the socket.
async function refusal(url: string): Promise<{ message: Record<string, unknown>; code: number; reason: string }> {
  const socket = new WebSocket(url);
  const message = new Promise<Record<string, unknown>>((resolve) => socket.once('message', (raw) => resolve(JSON.parse(String(raw)))));
  const [code, reason] = await new Promise<[number, string]>((resolve, reject) => {
    socket.once('close', (closeCode, closeReason) => resolve([closeCode, String(closeReason)]));
    socket.once('error', reject);
  });
  return { message: await message, code, reason };
}

test('a WebSocket with a refused token is told why and closed with 4401', async () => {
  const cases = [
    [`${wsBase}/ws`, 'UNAUTHORIZED'],
    [`${wsBase}/ws?token=nonsense`, 'INVALID_TOKEN'],
    [`${wsBase}/api/ws/x`, 'UNAUTHORIZED'],
  ] as const;
  for (const [url, code] of cases) {
    const refused = await refusal(url);
    assert.equal(refused.code, 4401, url);
    assert.equal(refused.message.type, 'error', url);
    assert.equal(refused.message.success, false, url);
    assert.equal(refused.message.code, code, url);
    assert.equal(refused.reason, refused.message.error, url);
  }
});

test('a WebSocket with a bad query is told why and closed with 4400', async () => {
  const user = await createUser(platform, 'ws-bad-query');
  const refused = await refusal(`${wsBase}/ws?token=${user.token}&format=xml`);
  assert.equal(refused.code, 4400);
  assert.equal(refused.message.code, 'VALIDATION_ERROR');
  assert.match(String(refused.message.error), /format/);
});

test("seed 004's ws://host:WS_PORT?token= reaches the same WebSocket, with a user's token", async () => {
  const user = await createUser(platform, 'ws-port');
  const extra = await listenWsPort(platform.app, 0, '127.0.0.1');
  try {
    const client = await connect(`ws://127.0.0.1:${extra.port}?token=${user.token}&format=flat`);
    client.socket.send(JSON.stringify({ type: 'subscribe', sessionId: 'x' }));
    assert.deepEqual(await client.next(), { type: 'subscribed', sessionId: 'x', format: 'flat' });
    await append(user.id, 'x', { type: 'device.qr-issued', data: { qr: 'QR-port' } });
    assert.deepEqual(await client.next(), { type: 'qr', sessionId: 'x', qr: 'QR-port' });
    client.socket.close();
    const refused = await refusal(`ws://127.0.0.1:${extra.port}/?token=nonsense`);
    assert.equal(refused.code, 4401);
    const plain = await fetch(`http://127.0.0.1:${extra.port}/`);
    assert.equal(plain.status, 426);
    const body = (await plain.json()) as { success: boolean; error: string; message: string; code: string };
    assert.deepEqual([body.success, body.error, body.code], [false, 'WebSocket only', 'NOT_FOUND']);
    assert.match(body.message, /WebSocket connections only/);
  } finally {
    await extra.close();
  }
});

// Seed 004 connects with its API_TOKEN in the query: `new WebSocket(`ws://localhost:3001?token=${API_TOKEN}`)`.
test("seed 004's ws://host:WS_PORT?token=<API_TOKEN> with the environment's API token", async () => {
  const me = await platform.request({ method: 'GET', url: '/api/auth/me', headers: { 'x-api-token': API_TOKEN } });
  const tenantId = me.json().data.id as number;
  const extra = await listenWsPort(platform.app, 0, '127.0.0.1');
  try {
    const client = await connect(`ws://127.0.0.1:${extra.port}?token=${API_TOKEN}`);
    client.socket.send(JSON.stringify({ type: 'subscribe', sessionId: 'env-token-session' }));
    assert.deepEqual(await client.next(), { type: 'subscribed', sessionId: 'env-token-session', format: 'both' });
    await append(tenantId, 'env-token-session', { type: 'device.connected', data: { phoneNumber: '+628999' } });
    assert.deepEqual(await client.next(), { type: 'connection', sessionId: 'env-token-session', status: 'connected', phoneNumber: '+628999' });
    assert.equal((await client.next()).type, 'device_connected');
    client.socket.close();
  } finally {
    await extra.close();
  }
});

test('the OpenAPI document lists the WebSocket routes and how to choose a scheme', async () => {
  const res = await platform.request({ method: 'GET', url: '/docs/json' });
  const paths = res.json().paths;
  const ws = paths['/ws']?.get;
  assert.ok(ws, 'GET /ws is listed');
  assert.match(ws.description, /format=flat\|data/);
  assert.match(ws.description, /WS_PORT/);
  assert.ok(ws.parameters.some((p: { name: string; in: string }) => p.name === 'format' && p.in === 'query'));
  assert.ok(ws.responses['101']);
  assert.ok(paths['/api/ws/{sessionId}']?.get, 'GET /api/ws/{sessionId} is listed');
});
