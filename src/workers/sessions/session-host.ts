import { makeCacheableSignalKeyStore, makeWASocket, type ConnectionState, type WASocket } from '@whiskeysockets/baileys';
import type { Redis } from 'ioredis';
import type { Orm } from '../../db/orm.ts';
import type { DomainEvent } from '../../domain/events.ts';
import { decideReconnect } from '../../domain/reconnect-policy.ts';
import { appendToStream, sqlOf } from '../../events/event-store.ts';
import type { Logger } from '../../logger.ts';
import { loadAuthState, wipeAuthState, type StoredAuthState } from './auth-state.ts';
import { acquireLease, type Lease } from './lease.ts';

export interface SessionHostOptions {
  orm: Orm;
  redis: Redis;
  redisPrefix: string;
  waWebSocketUrl: string;
  encryptionKey: Buffer;
  logger: Logger;
  // This process, in lease values and logs.
  owner: string;
  leaseTtlMs?: number;
  // How often the host looks for sessions nobody holds (bounds takeover time with the lease TTL).
  scanMs?: number;
  random?: () => number;
}

interface DeviceRow {
  id: number;
  user_id: number;
  session_id: string;
}

interface HeldSession {
  device: DeviceRow;
  lease: Lease;
  // Loaded once per lease: a reconnect (515 after pairing above all) must see creds not yet written back.
  stored: StoredAuthState;
  socket?: WASocket;
  attempt: number;
  stopped: boolean;
  retry?: NodeJS.Timeout;
}

export interface SessionHost {
  // Sessions this process holds now, by device id.
  held(): number[];
  close(): Promise<void>;
}

// The worker side of WhatsApp: holds a lease for each session it runs, one Baileys socket per session, and
// appends every lifecycle change to the session's device stream (the devices projection and the live channels
// follow from there).
export function startSessionHost(options: SessionHostOptions): SessionHost {
  const { orm, logger, owner, scanMs = 5000, random = Math.random } = options;
  const sessions = new Map<number, HeldSession>();
  let closing = false;

  const append = async (device: DeviceRow, event: DomainEvent) => {
    await appendToStream(orm.em.fork(), `device-${device.id}`, [{ event }], {
      expectedVersion: 'any',
      metadata: { tenantId: device.user_id, deviceId: device.id, sessionId: device.session_id, correlationId: owner },
    });
  };

  const stopSession = async (held: HeldSession, reason: 'lost' | 'released' | 'closing') => {
    held.stopped = true;
    clearTimeout(held.retry);
    held.socket?.end(undefined);
    sessions.delete(held.device.id);
    if (reason !== 'lost') await held.lease.release();
  };

  const onClose = async (held: HeldSession, code: number | undefined) => {
    if (held.stopped) return;
    held.attempt += 1;
    const decision = decideReconnect(code, held.attempt, random);
    const { device } = held;
    if (decision.action === 'reconnect') {
      await append(device, { type: 'device.disconnected', data: { reason: `closed (${code ?? 'unknown'})`, ...(code === undefined ? {} : { code }) } });
      held.retry = setTimeout(() => void connect(held), decision.delayMs);
      return;
    }
    if (decision.action === 'logout') {
      await stopSession(held, 'released');
      await wipeAuthState(orm.em.fork(), device.id);
      await sqlOf(orm.em.fork())(`update devices set desired_state = 'stopped' where id = ?`, [device.id]);
      await append(device, { type: 'device.logged-out', data: { reason: decision.reason } });
      return;
    }
    // 440 or 411: report once and stay down until someone logs the device in again.
    await stopSession(held, 'released');
    await sqlOf(orm.em.fork())(`update devices set desired_state = 'stopped' where id = ?`, [device.id]);
    await append(device, { type: 'device.failed', data: { message: decision.reason } });
  };

  const connect = async (held: HeldSession) => {
    if (held.stopped) return;
    const { device, stored } = held;
    const socketLogger = logger.child({ deviceId: device.id });
    const socket = makeWASocket({
      waWebSocketUrl: options.waWebSocketUrl,
      auth: { creds: stored.state.creds, keys: makeCacheableSignalKeyStore(stored.state.keys, socketLogger as never) },
      logger: socketLogger.child({ level: 'warn' }) as never,
      markOnlineOnConnect: false,
      generateHighQualityLinkPreview: false,
    });
    held.socket = socket;
    socket.ev.on('creds.update', () => void stored.saveCreds().catch((err) => logger.error({ err, deviceId: device.id }, 'saving creds failed')));
    socket.ev.on('connection.update', (update: Partial<ConnectionState>) => {
      void (async () => {
        if (held.stopped || held.socket !== socket) return;
        if (update.qr) await append(device, { type: 'device.qr-issued', data: { qr: update.qr } });
        if (update.connection === 'connecting') await append(device, { type: 'device.connecting', data: {} });
        if (update.connection === 'open') {
          held.attempt = 0;
          const phoneNumber = `+${(socket.user?.id ?? '').split(/[:@]/)[0]}`;
          await append(device, { type: 'device.connected', data: { phoneNumber, ...(socket.user?.name ? { name: socket.user.name } : {}) } });
        }
        if (update.connection === 'close') {
          const code = (update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;
          await onClose(held, code);
        }
      })().catch((err) => logger.error({ err, deviceId: device.id }, 'session event handling failed'));
    });
  };

  const scan = async () => {
    if (closing) return;
    const wanted = (await sqlOf(orm.em.fork())(
      `select id, user_id, session_id from devices where desired_state = 'running' order by id`,
    )) as unknown as DeviceRow[];
    // A device logged out, stopped or deleted through the API: end its session here, and say so unless the
    // device is gone or already logged out (the API reported that itself).
    const wantedIds = new Set(wanted.map((d) => d.id));
    for (const held of [...sessions.values()]) {
      if (wantedIds.has(held.device.id)) continue;
      await stopSession(held, 'released');
      const [row] = await sqlOf(orm.em.fork())('select status from devices where id = ?', [held.device.id]);
      if (row && row.status !== 'logged_out') await append(held.device, { type: 'device.disconnected', data: { reason: 'stopped' } });
    }
    for (const device of wanted) {
      if (closing || sessions.has(device.id)) continue;
      const lease = await acquireLease(`device-${device.id}`, {
        redis: options.redis,
        prefix: options.redisPrefix,
        owner,
        ...(options.leaseTtlMs ? { ttlMs: options.leaseTtlMs } : {}),
      });
      if (!lease) continue;
      const stored = await loadAuthState(orm.em.fork(), device.id, options.encryptionKey);
      const held: HeldSession = { device, lease, stored, attempt: 0, stopped: false };
      sessions.set(device.id, held);
      // Lost (not released): close the socket at once; the lease expires in Redis only after this.
      void lease.lost.then((reason) => {
        if (reason === 'lost' && !held.stopped) {
          logger.warn({ deviceId: device.id }, 'session lease lost; closing its socket');
          void stopSession(held, 'lost');
        }
      });
      await connect(held);
    }
  };

  const timer = setInterval(() => void scan().catch((err) => logger.error({ err }, 'session scan failed')), scanMs);
  void scan().catch((err) => logger.error({ err }, 'session scan failed'));

  return {
    held: () => [...sessions.keys()],
    async close() {
      closing = true;
      clearInterval(timer);
      await Promise.all([...sessions.values()].map((held) => stopSession(held, 'closing')));
    },
  };
}
