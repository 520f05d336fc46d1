import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../domain/errors.ts';
import { streamOf, type EventPayloads } from '../domain/events.ts';
import { foldStatus, type MessageStatus } from '../domain/message-status.ts';
import { isMediaContent, messageIdFor, newMessageId, requestFingerprint, type MessageContent } from '../domain/messages.ts';
import type { Recipient } from '../domain/recipients.ts';
import { transaction } from '../db/transactions.ts';
import { appendToStream, readStream, VersionConflictError } from '../events/event-store.ts';
import { holdFiles } from '../files/file-records.ts';

export interface SendingDevice {
  id: number;
  userId: number;
  sessionId: string;
}

export interface SendRequest {
  device: SendingDevice;
  recipient: Recipient;
  content: MessageContent;
  // Idempotency-Key header or clientMessageId: the same key returns the first message, never a second send.
  idempotencyKey?: string;
  sendAt?: Date;
  priority?: number;
  campaignId?: string;
  // Queued by the platform itself (an AI reply, a warm-up message), with typing shown before it goes.
  origin?: 'ai' | 'warmer';
  typing?: boolean;
}

export interface QueuedMessage {
  messageId: string;
  status: MessageStatus;
  timestamp: string;
  // True when the idempotency key named a message queued before.
  replayed: boolean;
}

// Accepting a send is appending `message.queued` to the message's new stream; the send dispatcher (worker role)
// turns it into a job on the session's queue. With an idempotency key the message id is derived from it, so the
// stream already existing *is* the duplicate check — no separate table, no race.
export async function queueMessage(em: EntityManager, request: SendRequest, now: Date): Promise<QueuedMessage> {
  const { content, ...rest } = request;
  const [queued] = await queueMessages(em, { ...rest, contents: [content] }, now);
  return queued!;
}

// Several messages to one recipient, in order (seed 004's /send/mixed, an AI reply in paragraphs), all queued or none.
// With an idempotency key each one's id is derived from the key and its place.
export async function queueMessages(em: EntityManager, request: Omit<SendRequest, 'content'> & { contents: MessageContent[] }, now: Date): Promise<QueuedMessage[]> {
  const { device, recipient, contents, idempotencyKey, sendAt, priority, campaignId, origin, typing } = request;
  const single = contents.length === 1;
  const planned = contents.map((content, index) => {
    const key = idempotencyKey === undefined ? undefined : single ? idempotencyKey : `${idempotencyKey}\n#${index}`;
    const fingerprint = key
      ? requestFingerprint({ device: device.id, to: recipient.jid, content, sendAt: sendAt?.toISOString(), priority, campaignId, ...(single ? {} : { index, of: contents.length }) })
      : undefined;
    return { content, messageId: key ? messageIdFor(device.userId, key) : newMessageId(), fingerprint };
  });
  const metadata = { tenantId: device.userId, deviceId: device.id, sessionId: device.sessionId };
  const append = async (tx: EntityManager) => {
    for (const { content, messageId, fingerprint } of planned) {
      // The file stays (a deletion waits) until the message has gone out or failed.
      if (isMediaContent(content)) await holdFiles(tx, [{ messageId, fileId: content.file.fileId }]);
      await appendToStream(
        tx,
        streamOf.message(messageId),
        [
          {
            event: {
              type: 'message.queued',
              data: {
                messageId,
                to: recipient.jid,
                content,
                ...(sendAt ? { sendAt: sendAt.toISOString() } : {}),
                ...(priority === undefined ? {} : { priority }),
                ...(campaignId ? { campaignId } : {}),
                ...(fingerprint ? { fingerprint } : {}),
                ...(origin ? { origin } : {}),
                ...(typing ? { typing } : {}),
              },
            },
          },
        ],
        { expectedVersion: 'no-stream', metadata },
      );
    }
  };
  try {
    // A lone text is one append (its own transaction): the hot path takes no more.
    if (planned.length === 1 && !isMediaContent(planned[0]!.content)) await append(em);
    else await transaction(em, append);
    return planned.map(({ messageId }) => ({ messageId, status: 'queued', timestamp: now.toISOString(), replayed: false }));
  } catch (err) {
    if (!(err instanceof VersionConflictError) || !idempotencyKey) throw err;
    return Promise.all(planned.map(({ messageId, fingerprint }) => replayOf(em, messageId, fingerprint!)));
  }
}

// The message a repeated idempotency key names, provided the request is the same one.
async function replayOf(em: EntityManager, messageId: string, fingerprint: string): Promise<QueuedMessage> {
  const events = await readStream(em, streamOf.message(messageId));
  if (events[0]?.data.fingerprint !== fingerprint) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for a different request; use a new key for a new message');
  }
  return {
    messageId,
    status: foldStatus(events.map((e) => e.type)) ?? 'queued',
    timestamp: events[0].recordedAt.toISOString(),
    replayed: true,
  };
}

// A failed message queued again as it was: same id, same content, a new job (the dispatcher keys jobs by the
// queueing event). Appended against the stream's version, so two resends racing queue it once.
export async function resendMessage(em: EntityManager, messageId: string, now: Date): Promise<QueuedMessage> {
  const events = await readStream(em, streamOf.message(messageId));
  if (foldStatus(events.map((e) => e.type)) !== 'failed') throw new AppError('MESSAGE_NOT_FAILED', `Message ${messageId} did not fail; only failed messages are resent`);
  const queued = events.findLast((e) => e.type === 'message.queued')!;
  const { fingerprint: _, sendAt: __, ...data } = queued.data as unknown as EventPayloads['message.queued'];
  try {
    await transaction(em, async (tx) => {
      // Its file's hold ended with the failure; the file must still be there to be sent again.
      if (isMediaContent(data.content)) await holdFiles(tx, [{ messageId, fileId: data.content.file.fileId }]);
      await appendToStream(tx, streamOf.message(messageId), [{ event: { type: 'message.queued', data } }], {
        expectedVersion: events.at(-1)!.streamVersion,
        metadata: queued.metadata,
      });
    });
  } catch (err) {
    if (err instanceof VersionConflictError) throw new AppError('MESSAGE_NOT_FAILED', `Message ${messageId} changed meanwhile (resent already?)`);
    throw err;
  }
  return { messageId, status: 'queued', timestamp: now.toISOString(), replayed: false };
}
