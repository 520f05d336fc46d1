import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, ERROR_STATUS, type ErrorCode } from '../domain/errors.ts';
import { streamOf } from '../domain/events.ts';
import { sendOutcomeOf, type SendOutcome } from '../domain/send-wait.ts';
import { readStream } from '../events/event-store.ts';
import { listenFor } from '../events/event-wait.ts';
import type { LiveFeed } from '../events/live-feed.ts';
import type { QueuedMessage } from './queue-message.ts';

export interface AwaitSendDeps {
  em: EntityManager;
  liveFeed: LiveFeed;
}

export interface AwaitedSend {
  queued: QueuedMessage;
  // WhatsApp has the message; undefined when the wait ran out (the message is still on its way).
  sent?: Extract<SendOutcome, { kind: 'sent' }>;
}

const OUTCOME_TYPES = ['message.sent', 'message.delivered', 'message.read', 'message.played', 'message.failed'];

// Queues a message with `queue`, then waits up to `waitMs` for WhatsApp's ack. The worker that sends it may be
// another process, so the answer comes from the log: listening starts before the message is queued, and a
// message queued before (an idempotent replay, a resend) is first looked up in its stream. A failure meanwhile is
// thrown with its own code and the message id; running out of time (or `signal`, at shutdown) is not a failure.
export async function queueAndAwaitSent(
  deps: AwaitSendDeps,
  device: { tenantId: number; deviceId?: number },
  waitMs: number,
  queue: () => Promise<QueuedMessage>,
  signal?: AbortSignal,
): Promise<AwaitedSend> {
  const wait = await listenFor(deps.liveFeed, { ...device, types: OUTCOME_TYPES });
  try {
    const queued = await queue();
    const stream = streamOf.message(queued.messageId);
    const known = queued.replayed ? sendOutcomeOf(await readStream(deps.em, stream)) : undefined;
    const outcome = known ?? (await wait.next((event) => (event.streamId === stream ? sendOutcomeOf([event]) : undefined), waitMs, signal));
    if (outcome?.kind === 'failed') {
      const code: ErrorCode = outcome.code in ERROR_STATUS ? (outcome.code as ErrorCode) : 'MESSAGE_SEND_FAILED';
      throw new AppError(code, `Message ${queued.messageId} failed: ${outcome.reason}`, { messageId: queued.messageId, status: 'failed', reason: outcome.reason });
    }
    return { queued, ...(outcome ? { sent: outcome } : {}) };
  } finally {
    wait.close();
  }
}
