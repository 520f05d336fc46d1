import { makeCacheableSignalKeyStore, makeWASocket, type ConnectionState, type WASocket } from '@whiskeysockets/baileys';
import type { Coordination } from '../../coordination/coordination.ts';
import type { QueueBackend } from '../queue-backend.ts';
import type { Orm } from '../../db/orm.ts';
import type { DomainEvent } from '../../domain/events.ts';
import { decideReconnect } from '../../domain/reconnect-policy.ts';
import { appendToStream, sqlOf } from '../../events/event-store.ts';
import type { Logger } from '../../logger.ts';
import { claimFence, FencedWriteError, loadAuthState, wipeAuthState, type StoredAuthState } from './auth-state.ts';
import { acquireLease, type Lease } from './lease.ts';
import { RecentSends, trackMessages } from './message-tracker.ts';
import { ServerAcks } from './server-acks.ts';
import { answerSessionQuestions } from './session-requests.ts';
import { createSessionAnswers } from './session-answers.ts';
import { ContactTracker } from './contact-tracker.ts';
import { ConnectionWaiters } from './connection-waiters.ts';
import { sharedDeviceLists } from './device-lists.ts';
import { markSendsInFlight, resumeInterruptedSend } from './send-window.ts';
import { listenForPairingRequests, takePairingRequest } from './pairing-requests.ts';
import { presenceSubscriptions, type PresenceSubscriptions } from './presence-subscriptions.ts';
import type { Clock } from '../../auth/context.ts';
import { failStrandedMessages, LOGGED_OUT } from '../../messages/fail-stranded.ts';
import { startSessionSender, type SendPacing } from '../sending/sender.ts';
import type { FileStorage } from '../../files/storage.ts';

export interface SessionHostOptions {
  orm: Orm;
  coordination: Coordination;
  // The session queues' store (src/workers/queue-backend.ts).
  queues: QueueBackend;
  waWebSocketUrl: string;
  encryptionKey: Buffer;
  logger: Logger;
  // This process, in lease values and logs.
  owner: string;
  leaseTtlMs?: number;
  // How often the host looks for sessions nobody holds (bounds takeover time with the lease TTL).
  scanMs?: number;
  // Life of each QR before the next (Baileys' own default when absent).
  qrTimeoutMs?: number;
  // How the session's queued messages are paced (see src/workers/sending/sender.ts).
  sending?: Partial<SendPacing>;
  // Where media messages' files are read from (src/files).
  storage?: FileStorage;
  clock?: Clock;
  random?: () => number;
}

export const DEFAULT_PACING: SendPacing = { minIntervalMs: 1000, jitterMs: 500, recipientIntervalMs: 0, typing: false, maxWaitMs: 10 * 60_000, policy: { enabled: true, timeZone: 'UTC', recheckMs: 60_000 } };

interface DeviceRow {
  id: number;
  user_id: number;
  session_id: string;
  session_fence: string | null;
}

interface HeldSession {
  device: DeviceRow;
  lease: Lease;
  // Loaded once per lease: a reconnect (515 after pairing above all) must see creds not yet written back.
  stored: StoredAuthState;
  socket?: WASocket;
  // The socket is open and logged in: queued messages may go out.
  connected: boolean;
  // The sender, waiting for `connected`.
  waiters: ConnectionWaiters<WASocket>;
  recent: RecentSends;
  acks: ServerAcks;
  contacts: ContactTracker;
  presence: PresenceSubscriptions;
  sender?: { close(force?: boolean): Promise<void> };
  // The socket shows QR codes: a phone can link it now, by QR or by pairing code.
  awaitingLink: boolean;
  // The current socket has shown at least one QR.
  showedQr: boolean;
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
  const { orm, logger, owner, scanMs = 5000, random = Math.random, clock = () => new Date() } = options;
  const trackedOf = (device: DeviceRow) => ({ id: device.id, userId: device.user_id, sessionId: device.session_id });
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
    held.connected = false;
    held.waiters.wake(undefined);
    clearTimeout(held.retry);
    held.socket?.end(undefined);
    sessions.delete(held.device.id);
    // A lost lease does not wait for a send in flight: its socket is gone, and the job returns to the queue.
    await held.sender?.close(reason === 'lost').catch((err) => logger.warn({ err, deviceId: held.device.id }, 'closing the send worker failed'));
    if (reason !== 'lost') await held.lease.release();
  };

  // A pairing code is asked for once the socket waits to be linked; until then the request waits in the coordination store.
  const offerPairingCode = async (held: HeldSession) => {
    const socket = held.socket;
    if (!held.awaitingLink || !socket || held.stopped) return;
    const phoneDigits = await takePairingRequest(options.coordination, held.device.id);
    if (!phoneDigits) return;
    const code = await socket.requestPairingCode(phoneDigits);
    await append(held.device, { type: 'device.pairing-code-issued', data: { code } });
  };

  // The subscriptions the device had: WhatsApp forgot them with the previous connection.
  const renewPresence = async (held: HeldSession, socket: WASocket) => {
    for (const jid of await held.presence.all()) {
      if (held.socket !== socket || held.stopped) return;
      await socket.presenceSubscribe(jid);
    }
  };

  const onClose = async (held: HeldSession, code: number | undefined) => {
    if (held.stopped) return;
    held.attempt += 1;
    const decision = decideReconnect(code, held.attempt, random, { linked: Boolean(held.stored.state.creds.me), showedQr: held.showedQr });
    const { device } = held;
    if (decision.action === 'reconnect') {
      await append(device, { type: 'device.disconnected', data: { reason: `closed (${code ?? 'unknown'})`, ...(code === undefined ? {} : { code }) } });
      held.retry = setTimeout(() => void connect(held), decision.delayMs);
      return;
    }
    // The device is stopped before its lease goes: a scan in between (every few seconds, or woken by a login)
    // would otherwise open it again, and that session's own end would then undo the next login.
    const stayDown = () => sqlOf(orm.em.fork())(`update devices set desired_state = 'stopped' where id = ?`, [device.id]);
    if (decision.action === 'logout') {
      await stayDown();
      await stopSession(held, 'released');
      await wipeAuthState(orm.em.fork(), device.id);
      await held.presence.forget();
      await append(device, { type: 'device.logged-out', data: { reason: decision.reason } });
      await failStrandedMessages(orm.em.fork(), { now: clock(), maxWaitMs: 0, deviceId: device.id, reason: LOGGED_OUT });
      return;
    }
    // 440, 411, or QRs nobody scanned: report once and stay down until someone logs the device in again.
    await stayDown();
    await stopSession(held, 'released');
    await append(
      device,
      decision.action === 'await-login'
        ? { type: 'device.disconnected', data: { reason: decision.reason, ...(code === undefined ? {} : { code }) } }
        : { type: 'device.failed', data: { message: decision.reason } },
    );
  };

  const connect = async (held: HeldSession) => {
    if (held.stopped) return;
    const { device, stored } = held;
    // Baileys logs every frame at debug; its warnings are what an operator needs (unless our level is stricter).
    const socketLogger = logger.child({ deviceId: device.id }, { level: logger.levelVal > 40 ? logger.level : 'warn' });
    const socket = makeWASocket({
      waWebSocketUrl: options.waWebSocketUrl,
      auth: { creds: stored.state.creds, keys: makeCacheableSignalKeyStore(stored.state.keys, socketLogger as never) },
      logger: socketLogger as never,
      markOnlineOnConnect: false,
      generateHighQualityLinkPreview: false,
      userDevicesCache: sharedDeviceLists(options.coordination, device.id, logger),
      ...(options.qrTimeoutMs ? { qrTimeout: options.qrTimeoutMs } : {}),
    });
    held.socket = socket;
    held.showedQr = false;
    markSendsInFlight(socket, options.coordination, device.id);
    trackMessages(socket, { device: trackedOf(device), orm, coordination: options.coordination, logger, recent: held.recent });
    held.acks.watch(socket);
    held.contacts.watch(socket);
    socket.ev.on('creds.update', () => {
      stored.saveCreds().catch((err) => {
        if (!(err instanceof FencedWriteError)) logger.error({ err, deviceId: device.id }, 'saving creds failed');
      });
    });
    socket.ev.on('connection.update', (update: Partial<ConnectionState>) => {
      void (async () => {
        if (held.stopped || held.socket !== socket) return;
        if (update.qr) {
          held.awaitingLink = true;
          held.showedQr = true;
          await append(device, { type: 'device.qr-issued', data: { qr: update.qr } });
          await offerPairingCode(held);
        }
        if (update.connection) held.awaitingLink = false;
        if (update.connection === 'connecting') await append(device, { type: 'device.connecting', data: {} });
        if (update.connection === 'close') held.connected = false;
        if (update.connection === 'open') {
          held.attempt = 0;
          await resumeInterruptedSend(socket, options.coordination, device.id).catch((err) =>
            logger.warn({ err, deviceId: device.id }, 'could not renew the Signal session of a send cut off by the previous socket'),
          );
          // Closed meanwhile: its own 'close' has been handled, and this socket must not count as connected.
          if (held.stopped || held.socket !== socket || !socket.ws.isOpen) return;
          held.connected = true;
          // The creds, not `socket.user`: that is a copy taken before login, which may have brought the LID.
          const me = socket.authState.creds.me;
          const phoneNumber = `+${(me?.id ?? '').split(/[:@]/)[0]}`;
          const { name, lid } = me ?? {};
          await append(device, { type: 'device.connected', data: { phoneNumber, ...(name ? { name } : {}), ...(lid ? { lid } : {}) } });
          if (held.connected && held.socket === socket) held.waiters.wake(socket);
          await renewPresence(held, socket);
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
      `select id, user_id, session_id, session_fence from devices where desired_state = 'running' order by id`,
    )) as unknown as DeviceRow[];
    // A device logged out, stopped or deleted through the API: end its session here, and say so unless the
    // device is gone or already logged out (the API reported that itself).
    const wantedIds = new Set(wanted.map((d) => d.id));
    for (const held of [...sessions.values()]) {
      if (wantedIds.has(held.device.id)) continue;
      await stopSession(held, 'released');
      const [row] = await sqlOf(orm.em.fork())('select status from devices where id = ?', [held.device.id]);
      if (row && row.status !== 'logged_out') await append(held.device, { type: 'device.disconnected', data: { reason: 'stopped' } });
      // A device linked again may be another account: what the old one followed is not its business.
      else await held.presence.forget();
    }
    for (const device of wanted) {
      if (closing || sessions.has(device.id)) continue;
      const lease = await acquireLease(`device-${device.id}`, {
        coordination: options.coordination,
        owner,
        above: Number(device.session_fence ?? 0),
        ...(options.leaseTtlMs ? { ttlMs: options.leaseTtlMs } : {}),
      });
      if (!lease) continue;
      if (!(await claimFence(orm.em.fork(), device.id, lease.token))) {
        await lease.release();
        continue;
      }
      let fencedOff = () => {};
      const stored = await loadAuthState(orm.em.fork(), device.id, options.encryptionKey, lease.token, () => fencedOff());
      const held: HeldSession = { device, lease, stored, connected: false, waiters: new ConnectionWaiters(), recent: new RecentSends(), acks: new ServerAcks(), contacts: new ContactTracker(trackedOf(device), orm, logger), presence: presenceSubscriptions(options.coordination, device.id), awaitingLink: false, showedQr: false, attempt: 0, stopped: false };
      sessions.set(device.id, held);
      const live = () => (held.connected && !held.stopped ? held.socket : undefined);
      try {
        held.sender = startSessionSender({
          device: trackedOf(device),
          link: {
            socket: live,
            connected: (timeoutMs) => (held.stopped ? Promise.resolve(undefined) : held.waiters.wait(live(), timeoutMs)),
            sending: (waMessageId, messageId) => held.recent.remember(waMessageId, messageId),
            serverAck: (waMessageId, timeoutMs) => held.acks.expect(waMessageId, timeoutMs),
          },
          orm,
          coordination: options.coordination,
          queues: options.queues,
          logger,
          clock,
          pacing: { ...DEFAULT_PACING, ...options.sending },
          ...(options.storage ? { storage: options.storage } : {}),
        });
      } catch (err) {
        // Without its send queue a session would connect and leave messages waiting: leave it to another try.
        logger.error({ err, deviceId: device.id }, 'cannot start the send worker; the session stays closed');
        await stopSession(held, 'released');
        continue;
      }
      // Refused auth writes mean someone else owns (or wiped) the session now: this socket must not go on.
      fencedOff = () => {
        if (held.stopped) return;
        logger.warn({ deviceId: device.id }, 'auth state fenced off; closing the socket');
        void stopSession(held, 'released');
      };
      // Lost (not released): close the socket at once; the lease lapses in the store only after this.
      void lease.lost.then((reason) => {
        if (reason === 'lost' && !held.stopped) {
          logger.warn({ deviceId: device.id }, 'session lease lost; closing its socket');
          void stopSession(held, 'lost');
        }
      });
      await connect(held);
    }
  };

  // Questions for a live socket (numbers, groups, profiles, presence, sync) from the API.
  const answerQuestion = createSessionAnswers(orm, (deviceId) => {
    const held = sessions.get(deviceId);
    return held?.connected && !held.stopped && held.socket ? { deviceId, socket: held.socket, contacts: held.contacts, presence: held.presence } : undefined;
  });
  const questions = answerSessionQuestions(options.coordination, owner, answerQuestion).catch((err) => {
    logger.error({ err }, 'cannot listen for session questions');
    return { close: async () => {} };
  });

  const pairingRequests = listenForPairingRequests(options.coordination, (deviceId) => {
    const held = sessions.get(deviceId);
    if (held) void offerPairingCode(held).catch((err) => logger.warn({ err, deviceId }, 'pairing code request failed'));
    else if (!closing) tick();
  }).catch((err) => {
    // Requests still reach a session when it next shows a QR.
    logger.error({ err }, 'cannot listen for pairing-code requests');
    return { close: async () => {} };
  });
  // One scan at a time: opening hundreds of sessions takes longer than the interval, and overlapping scans would
  // only race each other for the same leases.
  let scanning: Promise<void> | undefined;
  const tick = () => {
    scanning ??= scan()
      .catch((err) => logger.error({ err }, 'session scan failed'))
      .finally(() => (scanning = undefined));
  };
  const timer = setInterval(tick, scanMs);
  tick();

  return {
    held: () => [...sessions.keys()],
    async close() {
      closing = true;
      clearInterval(timer);
      await scanning;
      await (await pairingRequests).close();
      await (await questions).close();
      // Said before the lease goes, so it lands ahead of whatever the next owner reports.
      await Promise.all(
        [...sessions.values()].map(async (held) => {
          await append(held.device, { type: 'device.disconnected', data: { reason: 'worker-stopped' } }).catch((err) =>
            logger.error({ err, deviceId: held.device.id }, 'could not record the shutdown'),
          );
          await stopSession(held, 'closing');
        }),
      );
    },
  };
}
