import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { isJidGroup, type proto, type WASocket } from '@whiskeysockets/baileys';
import type { Clock } from '../../auth/context.ts';
import type { Coordination } from '../../coordination/coordination.ts';
import type { Orm } from '../../db/orm.ts';
import { streamOf, type DomainEvent, type EventPayloads } from '../../domain/events.ts';
import { foldStatus } from '../../domain/message-status.ts';
import { isMediaContent, waMessageIdOf, type MediaContent } from '../../domain/messages.ts';
import { eventIdOf } from '../../events/event-ids.ts';
import { appendToStream, readStream, type RecordedEvent } from '../../events/event-store.ts';
import { StorageNotFoundError, type FileStorage } from '../../files/storage.ts';
import { MediaConversionError } from '../../media/prepare.ts';
import type { Logger } from '../../logger.ts';
import { campaignState } from '../../messages/campaigns.ts';
import { toBaileys } from './baileys-content.ts';
import { decodeUpload, encodeUpload, relayMedia, uploadMedia, type MediaUpload } from './media-upload.ts';
import { rememberWaMessageId } from './wa-ids.ts';
import { recordTokenIssued } from '../sessions/privacy-tokens.ts';
import { checkSend, firstContactPauseMs, recordReachOutLock } from '../../policy/send-policy.ts';
import { WhatsAppRefusal } from '../sessions/server-acks.ts';
import type { QueueBackend } from '../queue-backend.ts';
import { SEND_ATTEMPTS, sendQueueName, type SendJobData } from './send-queues.ts';

export interface SendPacing {
  // The least time between two sends of one session (the queue's limiter, shared by every process).
  minIntervalMs: number;
  // A random pause of up to this much before each send, so the rhythm is not machine-regular.
  jitterMs: number;
  // The least time between two sends of one session to the same recipient (0: off).
  recipientIntervalMs: number;
  // Show "typing…" for a time in proportion to the text before sending it.
  typing: boolean;
  // How long a message waits for its session to (re)connect before it fails with DEVICE_NOT_CONNECTED.
  maxWaitMs: number;
  // The send policy (src/policy): on, with its days counted in this time zone; off only where a test or benchmark
  // sends to many new contacts from a new number on purpose.
  policy: { enabled: boolean; timeZone: string; recheckMs: number };
}

export interface SessionLink {
  // The session's socket while it is connected, else undefined.
  socket(): WASocket | undefined;
  // The socket as soon as the session is connected (at once if it is), or undefined after `timeoutMs`.
  connected(timeoutMs: number): Promise<WASocket | undefined>;
  // Called just before a message goes out, so receipts (which can beat our own bookkeeping) find it.
  sending(waMessageId: string, messageId: string): void;
  // Settles when WhatsApp's server acknowledges the message; rejects on a refusal, a timeout or a closed socket.
  serverAck(waMessageId: string, timeoutMs: number): Promise<void>;
}

const SERVER_ACK_TIMEOUT_MS = 20_000;

export interface SenderOptions {
  device: { id: number; userId: number; sessionId: string };
  link: SessionLink;
  orm: Orm;
  coordination: Coordination;
  queues: QueueBackend;
  logger: Logger;
  clock: Clock;
  pacing: SendPacing;
  // Where media messages' files are read from; without it (benchmarks that send text only) media messages fail.
  storage?: FileStorage;
}

// A job waits this long in the worker for its session to connect (woken the moment it does), then makes room at the
// back of the queue: a session that stays down holds no job for long, and closing a worker (which waits for its
// active job) waits no longer than that (a session that stops wakes it at once).
const RECHECK_MS = 3000;
const REQUEUE_MS = 100;
const CAMPAIGN_PAUSED_RECHECK_MS = 30_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Consumes the session's send queue in the process that holds the session. A message is `sent` when WhatsApp's
// server acknowledges it, and recorded so before the job completes. Each job hands one message to WhatsApp at most
// once: a message whose log says it was sent is skipped, and every attempt uses the same WhatsApp id (derived from
// ours), so an attempt repeated after a crash between handing over and recording is the same message to WhatsApp,
// not a second one.
export function startSessionSender(options: SenderOptions): { close(force?: boolean): Promise<void> } {
  const { device, link, orm, coordination, queues, logger, clock, pacing, storage } = options;
  const metadata = { tenantId: device.userId, deviceId: device.id, sessionId: device.sessionId };
  const append = (messageId: string, event: DomainEvent, eventId: string) =>
    appendToStream(orm.em.fork(), streamOf.message(messageId), [{ event, eventId }], { expectedVersion: 'any', metadata });

  const postpone = async (job: Job<SendJobData>, token: string | undefined, ms: number): Promise<never> => {
    await job.moveToDelayed(Date.now() + ms, token);
    throw new DelayedError();
  };

  // The upload this message's log records since its latest queueing, or a new one, recorded before it is relayed.
  // A file that cannot become what was asked (MediaConversionError) or whose bytes are gone fails the message; an
  // upload that fails otherwise is retried with the job.
  const mediaOf = async (
    job: Job<SendJobData>,
    socket: WASocket,
    messageId: string,
    to: string,
    content: MediaContent,
    events: RecordedEvent[],
    queuedVersion: number,
  ): Promise<{ message: proto.IMessage } | { code: string; reason: string }> => {
    const recorded = events.findLast((e) => e.type === 'message.media-uploaded' && e.streamVersion > queuedVersion);
    if (recorded) return { message: decodeUpload(String(recorded.data.message)) };
    if (!storage) return { code: 'FILE_NOT_FOUND', reason: 'this worker has no file storage configured' };
    let upload: MediaUpload;
    try {
      upload = await uploadMedia(socket, to, content, storage, logger);
    } catch (err) {
      if (err instanceof MediaConversionError) return { code: 'MEDIA_CONVERSION_FAILED', reason: err.message };
      if (err instanceof StorageNotFoundError) return { code: 'FILE_NOT_FOUND', reason: `the bytes of file ${content.file.fileId} are gone from storage` };
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? SEND_ATTEMPTS)) return { code: 'MESSAGE_SEND_FAILED', reason: `media upload failed: ${err instanceof Error ? err.message : String(err)}` };
      throw err;
    }
    await append(
      messageId,
      { type: 'message.media-uploaded', data: { messageId, message: encodeUpload(upload.message), mimetype: upload.mimetype, size: upload.size } },
      eventIdOf(`${messageId}:media-uploaded:${queuedVersion}`),
    );
    return { message: upload.message };
  };

  const process = async (job: Job<SendJobData>, token?: string) => {
    const { messageId } = job.data;
    const events = await readStream(orm.em.fork(), streamOf.message(messageId));
    const queued = events.findLast((e) => e.type === 'message.queued');
    if (!queued) throw new UnrecoverableError(`no message ${messageId}`);
    // Sent already (a repeated job), failed meanwhile, or cancelled: nothing to hand over.
    const status = foldStatus(events.map((e) => e.type));
    if (status !== 'queued') return { skipped: status };
    const { to, content, sendAt, campaignId, typing, origin } = queued.data as unknown as EventPayloads['message.queued'];
    const fail = async (code: string, reason: string) => {
      await append(messageId, { type: 'message.failed', data: { messageId, code, reason } }, eventIdOf(`${messageId}:failed:${queued.streamVersion}`));
      return { failed: code };
    };
    // Pausing and cancelling take a campaign's jobs off the queue; this catches those already on their way.
    if (campaignId) {
      const state = await campaignState(coordination, campaignId);
      if (state === 'paused') return postpone(job, token, CAMPAIGN_PAUSED_RECHECK_MS);
      if (state === 'cancelled') {
        await append(messageId, { type: 'message.cancelled', data: { messageId, reason: 'the campaign was cancelled' } }, eventIdOf(`${messageId}:cancelled`));
        return { cancelled: campaignId };
      }
    }

    const socket = link.socket() ?? (await link.connected(RECHECK_MS));
    if (!socket) {
      const waitingSince = Math.max(queued.recordedAt.getTime(), sendAt ? Date.parse(sendAt) : 0);
      if (clock().getTime() - waitingSince > pacing.maxWaitMs) return fail('DEVICE_NOT_CONNECTED', 'the session stayed disconnected too long');
      return postpone(job, token, REQUEUE_MS);
    }
    // Held by the send policy: the message stays queued, with its reason recorded once per reason and queueing.
    let counted: { day: string; firstContact?: true } | undefined;
    if (pacing.policy.enabled) {
      const verdict = await checkSend(orm.em.fork(), device, { messageId, to, ...(campaignId ? { campaignId } : {}), ...(origin ? { origin } : {}) }, pacing.policy, clock());
      if (!verdict.send) {
        await append(messageId, { type: 'message.held', data: { messageId, code: verdict.code, reason: verdict.reason } }, eventIdOf(`${messageId}:held:${verdict.code}:${queued.streamVersion}`));
        return postpone(job, token, verdict.retryInMs);
      }
      counted = { day: verdict.day, ...(verdict.firstContact ? { firstContact: true as const } : {}) };
      // A number whose health slipped sends at half its rate.
      if (verdict.slowed) await sleep(Math.max(pacing.minIntervalMs, 1000));
    }
    if (pacing.recipientIntervalMs > 0) {
      const key = `pace:${device.id}:${to}`;
      if (!(await coordination.setIfAbsent(key, '1', pacing.recipientIntervalMs))) {
        return postpone(job, token, Math.max(50, await coordination.ttl(key)));
      }
    }
    if ((pacing.typing || typing) && content.type === 'text') {
      await socket.sendPresenceUpdate('composing', to).catch(() => {});
      await sleep(Math.min(4000, 300 + content.text.length * 40));
      await socket.sendPresenceUpdate('paused', to).catch(() => {});
    }
    if (pacing.jitterMs > 0) await sleep(Math.random() * pacing.jitterMs);

    const waMessageId = waMessageIdOf(messageId);
    let handOver: () => Promise<unknown>;
    if (isMediaContent(content)) {
      const uploaded = await mediaOf(job, socket, messageId, to, content, events, queued.streamVersion);
      if (!('message' in uploaded)) return fail(uploaded.code, uploaded.reason);
      handOver = () => relayMedia(socket, to, uploaded.message, waMessageId, content.quoted);
    } else {
      const { content: baileysContent, quoted } = toBaileys(content);
      handOver = () => socket.sendMessage(to, baileysContent, { messageId: waMessageId, ...(quoted ? { quoted } : {}) });
    }
    try {
      await rememberWaMessageId(coordination, device.id, waMessageId, messageId);
      link.sending(waMessageId, messageId);
      const acked = link.serverAck(waMessageId, SERVER_ACK_TIMEOUT_MS);
      acked.catch(() => {});
      await handOver();
      await acked;
    } catch (err) {
      // A 463 is no reason to try again soon: first contacts pause, and this one waits with them. Each refusal is
      // its own signal, keyed by the stream's version (a refusal appends to it): the same message refused again
      // after its pause must weigh again, or the number goes on until WhatsApp restricts it.
      if (err instanceof WhatsAppRefusal && err.code === '463') {
        const until = new Date(clock().getTime() + (await firstContactPauseMs(orm.em.fork(), device.id, pacing.policy.timeZone)));
        await recordReachOutLock(orm.em.fork(), device, messageId, String(events.at(-1)!.streamVersion), until);
        return postpone(job, token, until.getTime() - clock().getTime());
      }
      // Transient (the socket closed under us, a timeout): BullMQ retries with backoff, the same id each time.
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? SEND_ATTEMPTS)) {
        return fail('MESSAGE_SEND_FAILED', err instanceof Error ? err.message : String(err));
      }
      throw err;
    }
    await append(messageId, { type: 'message.sent', data: { messageId, waMessageId, ...counted } }, eventIdOf(`${messageId}:sent:${queued.streamVersion}`));
    // Edits and deletions are protocol messages, after which WhatsApp Web issues no token (nor does Baileys).
    if (!isJidGroup(to) && content.type !== 'edit' && content.type !== 'delete') {
      await recordTokenIssued(socket, to, clock()).catch((err: unknown) => logger.warn({ err, deviceId: device.id }, 'recording the privacy token issue failed'));
    }
    return { waMessageId };
  };

  const worker = queues.worker<SendJobData>(sendQueueName(device.id), process, {
    concurrency: 1,
    limiter: { max: 1, duration: pacing.minIntervalMs },
    // A job whose worker died comes back after its lock lapses; the new holder of the session picks it up (the
    // log tells it whether the message went out). Killed workers are no reason to give a message up.
    lockDuration: 10_000,
    stalledInterval: 5_000,
    maxStalledCount: 20,
  });
  worker.on('error', (err) => logger.error({ err, deviceId: device.id }, 'send worker error'));
  return { close: (force = false) => worker.close(force) };
}
