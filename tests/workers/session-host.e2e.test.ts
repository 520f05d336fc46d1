import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { readStream, sqlOf } from '../../src/events/event-store.ts';
import { devicesProjection } from '../../src/events/projections/devices.ts';
import { createLogger } from '../../src/logger.ts';
import { startSessionHost, type SessionHost } from '../../src/workers/sessions/session-host.ts';
import { insertDevice, settleProjection, useTestDatabase } from '../helpers/database.ts';
import { until } from '../helpers/wait.ts';
import { backendEnv, createTestResources } from '../helpers/resources.ts';
import { openCoordination, type Coordinated } from '../../src/backends.ts';
import { loadConfig } from '../../src/config.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';

// The session host with the real Baileys client against the simulator, on real PostgreSQL and the suite's
// coordination store (Redis, or PostgreSQL with TEST_BACKENDS=postgres).
const key = randomBytes(32);
const logger = createLogger({ logLevel: 'silent' });
// The coordination store's key prefix (the database is useTestDatabase's).
const resources = createTestResources();
let stores: Coordinated;
let sim: WhatsAppSimulator;
let url: string;
let deviceId = 0;
before(async () => {
  sim = new WhatsAppSimulator();
  ({ url } = await sim.listen());
});
const db = useTestDatabase(async (orm) => {
  ({ deviceId } = await insertDevice(orm));
  const databaseUrl = orm.config.get('clientUrl')!;
  stores = await openCoordination(loadConfig(backendEnv({ ...resources, databaseUrl })), databaseUrl, logger);
});
after(async () => {
  await sim.close();
  await stores?.close();
  await resources.cleanup();
});

const start = (owner: string, random?: () => number): SessionHost =>
  startSessionHost({
    ...(random ? { random } : {}),
    orm: db.orm,
    coordination: stores.coordination,
    queues: stores.queueBackend,
    waWebSocketUrl: url,
    encryptionKey: key,
    logger,
    owner,
    scanMs: 200,
    leaseTtlMs: 3000,
  });

async function eventsOf(type: string) {
  return (await readStream(db.orm.em.fork(), `device-${deviceId}`)).filter((e) => e.type === type);
}

// Waits until the device's stream holds more than `count` events of `type`, and returns them.
const moreThan = (type: string, count: number) =>
  until(async () => {
    const events = await eventsOf(type);
    return events.length > count ? events : undefined;
  }, `${type} #${count + 1}`);

const simJid = () => [...sim.devices.keys()].find((j) => j.startsWith('6281234567300'))!;

test('a new device shows a QR; the phone scans it; the session is connected with its number', { timeout: 60_000 }, async () => {
  const phone = sim.createPhone('6281234567300');
  const host = start('worker-a');
  try {
    const [qr] = await until(async () => ((await eventsOf('device.qr-issued')).length ? eventsOf('device.qr-issued') : undefined), 'a QR');
    sim.scan(String(qr!.data.qr), phone.number);
    const [connected] = await until(async () => ((await eventsOf('device.connected')).length ? eventsOf('device.connected') : undefined), 'connected');
    assert.equal(connected!.data.phoneNumber, `+${phone.number}`);
    await settleProjection(db.orm, devicesProjection);
    const [row] = await sqlOf(db.orm.em.fork())('select status, phone_number from devices where id = ?', [deviceId]);
    assert.deepEqual({ ...row }, { status: 'connected', phone_number: `+${phone.number}` });
    assert.deepEqual(host.held(), [deviceId]);
  } finally {
    await host.close();
  }
});

test('after a restart the session is connected again without a new QR', { timeout: 60_000 }, async () => {
  const qrsBefore = (await eventsOf('device.qr-issued')).length;
  const connectedBefore = (await eventsOf('device.connected')).length;
  const host = start('worker-b');
  try {
    await until(async () => ((await eventsOf('device.connected')).length > connectedBefore ? true : undefined), 'reconnected');
    assert.equal((await eventsOf('device.qr-issued')).length, qrsBefore, 'no QR was needed');
  } finally {
    await host.close();
  }
});

test('440 from WhatsApp is reported once and the host does not reconnect', { timeout: 60_000 }, async () => {
  const connectedBefore = (await eventsOf('device.connected')).length;
  const host = start('worker-c');
  try {
    await until(async () => ((await eventsOf('device.connected')).length > connectedBefore ? true : undefined), 'connected');
    sim.fault(simJid(), 'conflict');
    const [failed] = await until(async () => ((await eventsOf('device.failed')).length ? eventsOf('device.failed') : undefined), 'failure');
    assert.equal(failed!.data.message, 'connection-replaced');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal((await eventsOf('device.connected')).length, connectedBefore + 1, 'no reconnect loop');
    assert.deepEqual(host.held(), []);
  } finally {
    await host.close();
  }
});

test('a dropped socket comes back with exponential backoff while WhatsApp refuses connections', { timeout: 60_000 }, async () => {
  await sqlOf(db.orm.em.fork())(`update devices set desired_state = 'running' where id = ?`, [deviceId]);
  const connectedBefore = (await eventsOf('device.connected')).length;
  // The top of the jitter range: delays are exactly 1 s, then 2 s.
  const host = start('worker-d', () => 1);
  try {
    await moreThan('device.connected', connectedBefore);
    const disconnectsBefore = (await eventsOf('device.disconnected')).length;
    sim.fault(simJid(), 'refuse', 2500);
    const reconnected = (await moreThan('device.connected', connectedBefore + 1)).at(-1)!;
    const disconnects = (await eventsOf('device.disconnected')).slice(disconnectsBefore);
    assert.equal(disconnects.length, 2, 'the drop, then one refused attempt after 1 s');
    const gap = (a: { recordedAt: Date }, b: { recordedAt: Date }) => b.recordedAt.getTime() - a.recordedAt.getTime();
    assert.ok(gap(disconnects[0]!, disconnects[1]!) >= 900, 'first retry waited ~1 s');
    assert.ok(gap(disconnects[1]!, reconnected) >= 1900, 'second retry waited ~2 s');
    assert.equal(sim.overlaps.get(simJid()) ?? 0, 0);
  } finally {
    await host.close();
  }
});

test('401 from WhatsApp wipes the stored creds and keys and marks the device logged out, without reconnecting', { timeout: 60_000 }, async () => {
  const connectedBefore = (await eventsOf('device.connected')).length;
  const host = start('worker-e');
  try {
    await moreThan('device.connected', connectedBefore);
    sim.fault(simJid(), 'logout');
    const [loggedOut] = await moreThan('device.logged-out', 0);
    assert.equal(loggedOut!.data.reason, 'logged-out');
    const sql = sqlOf(db.orm.em.fork());
    // Writes Baileys still had in flight are fenced off rather than landing after the wipe.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.deepEqual(await sql('select device_id from session_creds where device_id = ?', [deviceId]), []);
    assert.deepEqual(await sql('select key_id from session_keys where device_id = ?', [deviceId]), []);
    await settleProjection(db.orm, devicesProjection);
    const [row] = await sql('select status, desired_state from devices where id = ?', [deviceId]);
    assert.deepEqual({ ...row }, { status: 'logged_out', desired_state: 'stopped' });
    assert.equal((await eventsOf('device.connected')).length, connectedBefore + 1, 'no reconnect');
    assert.deepEqual(host.held(), []);
  } finally {
    await host.close();
  }
});
