import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../domain/errors.ts';
import { streamOf, type EventPayloads } from '../domain/events.ts';
import { foldStatus, type MessageStatus } from '../domain/message-status.ts';
import { messageIdFor, newMessageId, requestFingerprint, type MessageContent } from '../domain/messages.ts';
import type { Recipient } from '../domain/recipients.ts';
import { appendToStream, readStream, VersionConflictError } from '../events/event-store.ts';

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
  const { device, recipient, content, idempotencyKey, sendAt, priority, campaignId } = request;
  const fingerprint = idempotencyKey
    ? requestFingerprint({ device: device.id, to: recipient.jid, content, sendAt: sendAt?.toISOString(), priority, campaignId })
    : undefined;
  const messageId = idempotencyKey ? messageIdFor(device.userId, idempotencyKey) : newMessageId();
  try {
    await appendToStream(
      em,
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
            },
          },
        },
      ],
      { expectedVersion: 'no-stream', metadata: { tenantId: device.userId, deviceId: device.id, sessionId: device.sessionId } },
    );
    return { messageId, status: 'queued', timestamp: now.toISOString(), replayed: false };
  } catch (err) {
    if (!(err instanceof VersionConflictError) || !fingerprint) throw err;
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
}

// A failed message queued again as it was: same id, same content, a new job (the dispatcher keys jobs by the
// queueing event). Appended against the stream's version, so two resends racing queue it once.
export async function resendMessage(em: EntityManager, messageId: string, now: Date): Promise<QueuedMessage> {
  const events = await readStream(em, streamOf.message(messageId));
  if (foldStatus(events.map((e) => e.type)) !== 'failed') throw new AppError('MESSAGE_NOT_FAILED', `Message ${messageId} did not fail; only failed messages are resent`);
  const queued = events.findLast((e) => e.type === 'message.queued')!;
  const { fingerprint: _, sendAt: __, ...data } = queued.data as unknown as EventPayloads['message.queued'];
  try {
    await appendToStream(em, streamOf.message(messageId), [{ event: { type: 'message.queued', data } }], {
      expectedVersion: events.at(-1)!.streamVersion,
      metadata: queued.metadata,
    });
  } catch (err) {
    if (err instanceof VersionConflictError) throw new AppError('MESSAGE_NOT_FAILED', `Message ${messageId} changed meanwhile (resent already?)`);
    throw err;
  }
  return { messageId, status: 'queued', timestamp: now.toISOString(), replayed: false };
}
