import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import type { DomainEvent } from '../../src/domain/events.ts';
import { appendToStream } from '../../src/events/event-store.ts';
import { listenWsPort } from '../../src/api/ws-port.ts';
import { createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

let platform: TestPlatform;
let wsBase: string;
before(async () => {
  platform = await startTestPlatform();
  wsBase = (await platform.app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
});
after(() => platform.close());

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

test('seed 004 /ws: subscribe to a session, receive its qr, connection and session updates, and nothing else', async () => {
  const alice = await createUser(platform, 'ws-alice');
  const bob = await createUser(platform, 'ws-bob');
  const session = `user_${alice.id}_device_phone`;
  const client = await connect(`${wsBase}/ws?token=${alice.token}`);
  client.socket.send(JSON.stringify({ type: 'subscribe', sessionId: session }));
  assert.deepEqual(await client.next(), { type: 'subscribed', sessionId: session });

  await append(alice.id, 'another-session', { type: 'device.qr-issued', data: { qr: 'not-for-this-session' } });
  await append(bob.id, session, { type: 'device.qr-issued', data: { qr: 'bobs-secret-qr' } });
  await append(alice.id, session, { type: 'device.qr-issued', data: { qr: '2@ref,noise,identity,adv' } });
  await append(alice.id, session, { type: 'device.connecting', data: {} });
  await append(alice.id, session, { type: 'device.connected', data: { phoneNumber: '+628111' } });
  await append(alice.id, session, { type: 'message.received', data: { messageId: 'm1', waMessageId: 'WA1', chatJid: '628222@s.whatsapp.net', from: '628222@s.whatsapp.net', fromLid: '123@lid', messageType: 'text', text: 'Hello!', timestamp: 1704283200 } });

  assert.deepEqual(await client.next(), { type: 'qr', sessionId: session, qr: '2@ref,noise,identity,adv' });
  assert.deepEqual(await client.next(), { type: 'session_update', sessionId: session, status: 'connecting' });
  assert.deepEqual(await client.next(), { type: 'connection', sessionId: session, status: 'connected', phoneNumber: '+628111' });
  assert.deepEqual(await client.next(), {
    type: 'message',
    sessionId: session,
    message: { id: 'WA1', from: '628222@s.whatsapp.net', fromLid: '123@lid', body: 'Hello!', type: 'text', timestamp: 1704283200 },
  });

  client.socket.send(JSON.stringify({ type: 'unsubscribe', sessionId: session }));
  assert.deepEqual(await client.next(), { type: 'unsubscribed', sessionId: session });
  await append(alice.id, session, { type: 'device.logged-out', data: {} });
  client.socket.send(JSON.stringify({ type: 'ping' }));
  assert.equal((await client.next()).type, 'error', 'after unsubscribing, the next message is the answer to the bad one');
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

test('a WebSocket without a valid token is refused before the upgrade', async () => {
  for (const url of [`${wsBase}/ws`, `${wsBase}/ws?token=nonsense`, `${wsBase}/api/ws/x`]) {
    const status = await new Promise<number>((resolve) => {
      const socket = new WebSocket(url);
      socket.on('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      socket.on('open', () => resolve(101));
      socket.on('error', () => {});
    });
    assert.equal(status, 401, url);
  }
});

test("with WS_PORT, seed 004's ws://host:port?token= reaches the same WebSocket", async () => {
  const user = await createUser(platform, 'ws-port');
  const extra = await listenWsPort(platform.app, 0, '127.0.0.1');
  try {
    const client = await connect(`ws://127.0.0.1:${extra.port}?token=${user.token}`);
    client.socket.send(JSON.stringify({ type: 'subscribe', sessionId: 'x' }));
    assert.deepEqual(await client.next(), { type: 'subscribed', sessionId: 'x' });
    client.socket.close();
  } finally {
    await extra.close();
  }
});
