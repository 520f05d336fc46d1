import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { adminClient, freePort, startPlatformProcess, stopProcess, untilReady, type PlatformProcess } from '../helpers/processes.ts';
import { createTestResources, TEST_BACKENDS } from '../helpers/resources.ts';
import { until } from '../helpers/wait.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';

// `npm start` on a machine with only Node.js (scripts/test runs this file in a network namespace where the machine's
// PostgreSQL and Redis cannot be reached): the platform embeds its PostgreSQL and keeps queues there, links a phone and
// sends; SIGKILLed in the middle of a campaign and started again, it loses no message and sends none twice.
const MESSAGES = 30;
const resources = createTestResources('standalone');
const sim = new WhatsAppSimulator();
let waUrl = '';
const running: PlatformProcess[] = [];
before(async () => {
  ({ url: waUrl } = await sim.listen());
});
after(async () => {
  await Promise.all(running.map((p) => stopProcess(p, 'SIGKILL')));
  await sim.close();
  await resources.cleanup();
});

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });

test('nothing but Node.js: start, link, send; SIGKILL mid-campaign and start again: every message reaches the phone once', { timeout: 240_000 }, async () => {
  assert.equal(TEST_BACKENDS, 'embedded', 'run with TEST_BACKENDS=embedded (scripts/test)');
  assert.ok((await refused(5432)) && (await refused(6379)), "the machine's PostgreSQL and Redis are out of reach here");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    PORT: String(port),
    WA_WEBSOCKET_URL: waUrl,
    SESSION_SCAN_INTERVAL: '500ms',
    SESSION_LEASE_TTL: '3s',
    SEND_MIN_INTERVAL: '150ms',
    SEND_JITTER: '0',
    LOGIN_QR_WAIT: '10s',
  };
  const start = () => {
    const started = startPlatformProcess(resources, env);
    running.push(started);
    return started;
  };
  const first = start();
  await untilReady(base, first);
  assert.match(first.output(), /embedded PostgreSQL 18\.\d+ in \S+ at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/wa_platform \(DATABASE_URL is not set/);
  assert.match(first.output(), /REDIS_URL is not set: queues on BullMQ's PostgreSQL backend/);
  const api = adminClient(base);

  const [number, contact] = ['6281900000001', '6281900000002'];
  sim.createPhone(number);
  sim.createPhone(contact);
  const created = await api('POST', '/api/whatsapp/devices', { userId: 'admin', alias: 'standalone' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { id, sessionId } = created.body.device;
  assert.ok(created.body.qr, 'the creation answer carries the first QR');
  sim.scan(created.body.qr, number);
  await until(async () => ((await api('GET', `/api/whatsapp/devices/${id}`)).body.data?.status === 'connected' ? true : undefined), 'connected');

  const recipients = Array.from({ length: MESSAGES }, (_, n) => ({ phoneNumber: contact, variables: { n: String(n) } }));
  const bulk = await api('POST', '/api/whatsapp/send/bulk', { sessionId, message: 'standalone #{n}', recipients });
  assert.equal(bulk.status, 202, JSON.stringify(bulk.body));
  await until(() => (sim.inbox(contact).length >= 8 ? true : undefined), 'the campaign under way');
  await stopProcess(first, 'SIGKILL');
  const beforeRestart = sim.inbox(contact).length;
  assert.ok(beforeRestart < MESSAGES, `the kill came mid-campaign (${beforeRestart} sent)`);

  const second = start();
  await untilReady(base, second);
  await until(() => (new Set(sim.inbox(contact).map((m) => m.text)).size === MESSAGES ? true : undefined), 'every message at the phone', 120_000);
  const inbox = sim.inbox(contact);
  for (let n = 0; n < MESSAGES; n++) {
    const copies = inbox.filter((m) => m.text === `standalone #${n}`);
    assert.equal(new Set(copies.map((m) => m.id)).size, 1, `#${n} under one WhatsApp id`);
  }
  const events = await api('GET', `/api/whatsapp/devices/${id}`);
  assert.equal(events.body.data?.status, 'connected', 'reconnected without a new QR');
  assert.equal(await stopProcess(second, 'SIGTERM'), 0, `a clean stop:\n${second.output().slice(-3000)}`);
});
