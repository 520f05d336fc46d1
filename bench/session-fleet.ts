// N WhatsApp devices paired once through the simulator by the platform's own session host, as a user pairs
// them (QR → device.qr-issued → a phone scans it), on a throwaway database and Redis prefix. What the sessions
// benchmark restores and measures, on both sides.
import { randomBytes } from 'node:crypto';
import { BufferJSON } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { openCoordination, type Coordinated } from '../src/backends.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { openOrm, type Orm } from '../src/db/orm.ts';
import { migrate } from '../src/db/schema.ts';
import { sqlOf } from '../src/events/event-store.ts';
import { openRedis } from '../src/redis.ts';
import { loadAuthState } from '../src/workers/sessions/auth-state.ts';
import { startSessionHost } from '../src/workers/sessions/session-host.ts';
import { createTestResources, REDIS_URL, type TestResources } from '../tests/helpers/resources.ts';
import { until } from '../tests/helpers/wait.ts';
import { WhatsAppSimulator } from '../simulator/server.ts';
import type { PairedSession } from './session-holder.ts';
import { cleanupAll } from './stats.ts';

export interface Fleet {
  sim: WhatsAppSimulator;
  // The environment a worker process of this platform starts with, and the stores it names (for
  // tests/helpers/processes.ts, which starts src/main.ts on them).
  env: Record<string, string>;
  resources: TestResources;
  // The platform's devices in id order, with the session ids the send API takes.
  devices: { id: number; sessionId: string }[];
  // The simulator's linked devices, one per platform device.
  jids: string[];
  // Every device's creds and current pre-key, decrypted from PostgreSQL (BufferJSON text).
  paired: string;
  // Position of the newest event, and how many devices have reported device.connected since one.
  lastPosition(): Promise<number>;
  connectedSince(position: number): Promise<number>;
  // Lease acquisitions tried so far over all devices (each try takes a fencing token, won or not).
  leaseAttempts(): Promise<number>;
  // Texts accepted (message.queued in the log) that the send dispatcher has not yet put on a session's queue.
  undispatched(): Promise<number>;
  // Each device's lease owner now (`<host>:<pid>` for src/main.ts workers), or undefined where nobody holds it.
  leaseOwners(): Promise<(string | undefined)[]>;
  close(): Promise<void>;
}

export interface FleetOptions {
  sessions: number;
  scanInterval: string;
}

const phoneNumber = (i: number) => `6281200${String(i).padStart(6, '0')}`;

async function insertDevices(orm: Orm, count: number): Promise<number[]> {
  const sql = sqlOf(orm.em.fork());
  const [user] = await sql(`insert into users (username, password_hash, role, created_at) values ('bench', 'x', 'user', now()) returning id`);
  const rows = await sql(
    `insert into devices (user_id, alias, session_id, created_at)
     select ?, 'd' || i, 'user_' || ? || '_device_d' || i, now() from generate_series(1, ?) as i returning id`,
    [user!.id, user!.id, count],
  );
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

// The host shows a QR per device; each device gets a phone of its own that scans the newest QR it has not
// scanned yet (an older one may already have expired), until every device reports device.connected.
async function pairAll(sim: WhatsAppSimulator, config: Config, stores: Coordinated, orm: Orm, deviceIds: number[]): Promise<void> {
  const phoneOf = new Map(deviceIds.map((id, i) => [id, sim.createPhone(phoneNumber(i)).number]));
  const scanned = new Set<string>();
  const sql = sqlOf(orm.em.fork());
  const host = startSessionHost({
    orm,
    coordination: stores.coordination,
    queues: stores.queueBackend,
    waWebSocketUrl: config.waWebSocketUrl,
    encryptionKey: config.encryptionKey,
    // Baileys logs each pairing's 515 restart as an error; a pairing that really fails times out below.
    logger: pino({ level: 'fatal' }, pino.destination(2)),
    owner: 'bench-pairing',
    scanMs: config.sessionScanMs,
  });
  try {
    await until(
      async () => {
        const connected = new Set((await sql(`select distinct device_id from events where type = 'device.connected'`)).map((r) => Number(r.device_id)));
        if (connected.size === deviceIds.length) return true;
        const newest = await sql(`select distinct on (device_id) device_id, data->>'qr' as qr from events where type = 'device.qr-issued' order by device_id, global_position desc`);
        for (const { device_id: id, qr } of newest) {
          if (connected.has(Number(id)) || scanned.has(String(qr))) continue;
          scanned.add(String(qr));
          try {
            sim.scan(String(qr), phoneOf.get(Number(id))!);
          } catch {
            // The companion moved on from that QR; its next one will be scanned.
          }
        }
        return undefined;
      },
      `${deviceIds.length} devices paired`,
      60_000 + 2000 * deviceIds.length,
    );
  } finally {
    await host.close();
  }
}

async function readPaired(orm: Orm, deviceIds: number[], key: Buffer): Promise<string> {
  const sessions: PairedSession[] = [];
  for (const id of deviceIds) {
    // Read only: fence 0 belongs to no holder, so a write through this state would be refused.
    const { state } = await loadAuthState(orm.em.fork(), id, key, 0);
    const current = String(state.creds.nextPreKeyId - 1);
    sessions.push({ creds: state.creds, preKeys: await state.keys.get('pre-key', [current]) });
  }
  return JSON.stringify(sessions, BufferJSON.replacer);
}

export async function pairFleet({ sessions, scanInterval }: FleetOptions): Promise<Fleet> {
  const resources = createTestResources('bench');
  const sim = new WhatsAppSimulator();
  const closers: (() => Promise<unknown>)[] = [() => resources.cleanup(), () => sim.close()];
  const close = () => cleanupAll('sessions', closers.reverse());
  try {
    const { url } = await sim.listen();
    const env = {
      DATABASE_URL: resources.databaseUrl,
      REDIS_URL,
      REDIS_PREFIX: resources.redisPrefix,
      WA_WEBSOCKET_URL: url,
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      SESSION_SCAN_INTERVAL: scanInterval,
      // Baileys warns at every login for want of a push name, which the simulator does not send.
      LOG_LEVEL: 'error',
    };
    const config = loadConfig({ ...process.env, ...env });
    const orm = await openOrm(resources.databaseUrl);
    closers.push(() => orm.close());
    await migrate(orm);
    const stores = await openCoordination(config, resources.databaseUrl, pino({ level: 'fatal' }));
    closers.push(() => stores.close());
    // Read directly: the lease counters say how many acquisitions the hosts tried.
    const redis = await openRedis(REDIS_URL);
    closers.push(() => redis.quit());
    const deviceIds = await insertDevices(orm, sessions);
    await pairAll(sim, config, stores, orm, deviceIds);
    const sql = sqlOf(orm.em.fork());
    const devices = (await sql('select id, session_id from devices order by id')).map((r) => ({ id: Number(r.id), sessionId: String(r.session_id) }));
    return {
      sim,
      env,
      resources,
      devices,
      jids: [...sim.devices.keys()],
      paired: await readPaired(orm, deviceIds, config.encryptionKey),
      lastPosition: async () => Number((await sql('select coalesce(max(global_position), 0) as last from events'))[0]!.last),
      connectedSince: async (position) =>
        Number((await sql(`select count(distinct device_id) as n from events where type = 'device.connected' and global_position > ?`, [position]))[0]!.n),
      leaseAttempts: async () =>
        (await redis.mget(deviceIds.map((id) => `${config.redisPrefix}:lease-token:device-${id}`))).reduce((sum, v) => sum + Number(v ?? 0), 0),
      undispatched: async () =>
        Number(
          (
            await sql(
              `select count(*) as n from events where type = 'message.queued'
                 and global_position > coalesce((select global_position from projection_checkpoints where name = 'send-dispatcher'), 0)`,
            )
          )[0]!.n,
        ),
      leaseOwners: () => Promise.all(deviceIds.map(async (id) => (await stores.coordination.leaseHolder(`device-${id}`))?.owner)),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
