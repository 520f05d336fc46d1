import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { readStream, sqlOf } from '../../src/events/event-store.ts';
import { devicesProjection } from '../../src/events/projections/devices.ts';
import { createLogger } from '../../src/logger.ts';
import { startSessionHost, type SessionHost } from '../../src/workers/sessions/session-host.ts';
import { insertDevice, settleProjection, useTestDatabase } from '../helpers/database.ts';
import { until } from '../helpers/wait.ts';
import { createTestResources, REDIS_URL } from '../helpers/resources.ts';
import { WhatsAppSimulator } from '../wa-sim/server.ts';

// The session host with the real Baileys client against the simulator, on real PostgreSQL and Redis.
const key = randomBytes(32);
const redisResources = createTestResources();
const redis = new Redis(REDIS_URL);
let sim: WhatsAppSimulator;
let url: string;
let deviceId = 0;
before(async () => {
  sim = new WhatsAppSimulator();
  ({ url } = await sim.listen());
});
const db = useTestDatabase(async (orm) => {
  ({ deviceId } = await insertDevice(orm));
});
after(async () => {
  await sim.close();
  redis.disconnect();
  await redisResources.cleanup();
});

const start = (owner: string): SessionHost =>
  startSessionHost({
    orm: db.orm,
    redis,
    redisPrefix: redisResources.redisPrefix,
    waWebSocketUrl: url,
    encryptionKey: key,
    logger: createLogger({ logLevel: 'silent' }),
    owner,
    scanMs: 200,
    leaseTtlMs: 3000,
  });

async function eventsOf(type: string) {
  return (await readStream(db.orm.em.fork(), `device-${deviceId}`)).filter((e) => e.type === type);
}

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
    const jid = [...sim.devices.keys()].find((j) => j.startsWith('6281234567300'))!;
    sim.fault(jid, 'conflict');
    const [failed] = await until(async () => ((await eventsOf('device.failed')).length ? eventsOf('device.failed') : undefined), 'failure');
    assert.equal(failed!.data.message, 'connection-replaced');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal((await eventsOf('device.connected')).length, connectedBefore + 1, 'no reconnect loop');
    assert.deepEqual(host.held(), []);
  } finally {
    await host.close();
  }
});
