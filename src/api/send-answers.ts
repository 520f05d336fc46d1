import { Type, type Static } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SEND_WAIT_DEFAULT_SECONDS, SEND_WAIT_MAX_SECONDS, sendWaitOf } from '../domain/send-wait.ts';
import type { LiveFeed } from '../events/live-feed.ts';
import { queueAndAwaitSent } from '../messages/await-send.ts';
import type { QueuedMessage } from '../messages/queue-message.ts';
import { errors, IsoDate, ok } from './schemas.ts';

// How a send answers: 202 `queued` at once, or, when the client opted in to waiting (`?wait=sent`, `Prefer:
// wait=N`), 200 once WhatsApp acked it, the failure if it failed, 202 `timedOut` if time ran out first.

export const PreferHeader = {
  prefer: Type.Optional(
    Type.String({ maxLength: 200, description: `RFC 7240: \`wait=N\` waits up to N seconds (1 to ${SEND_WAIT_MAX_SECONDS}) for WhatsApp's ack, as ?wait=sent does` }),
  ),
};
export const IdempotencyHeaders = Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), ...PreferHeader });
export const WaitQuery = Type.Object({
  wait: Type.Optional(Type.Literal('sent', { description: `Answer once WhatsApp acknowledged the message (200), waiting up to ${SEND_WAIT_DEFAULT_SECONDS} s` })),
});
type WaitInput = Static<typeof WaitQuery>;

const Answer = Type.Object({
  messageId: Type.String(),
  status: Type.String({ description: 'queued; after a wait, sent (or a later status)' }),
  timestamp: Type.String({ format: 'date-time', description: 'When the message was accepted; once sent, when WhatsApp acknowledged it' }),
  timedOut: Type.Optional(Type.Boolean({ description: 'Only after a wait: true when it ran out before the ack (the message is still on its way: do not send it again)' })),
});
export const acceptedResponses = { 200: ok(Answer), 202: ok(Answer), ...errors(400, 401, 404, 409, 429, 502) };

export interface SendAnswer {
  messageId: string;
  status: string;
  timestamp: string;
  timedOut?: boolean;
}

// How the routes wait: on the live feed, and no longer once the server is closing.
export interface Waiting {
  liveFeed: LiveFeed;
  closing: AbortSignal;
}

// Queues, and waits for WhatsApp's ack when the client asked to. Bad wait input is refused before anything is queued.
export async function settle(
  request: FastifyRequest,
  reply: FastifyReply,
  waiting: Waiting,
  device: { tenantId: number; deviceId?: number },
  queue: () => Promise<QueuedMessage>,
): Promise<SendAnswer> {
  // Node joins repeated Prefer headers with commas, as RFC 7240 reads them.
  const prefer = request.headers.prefer as string | undefined;
  const waitMs = sendWaitOf(request.query as WaitInput, prefer);
  // Marked before any wait, so a replay that answers with the message's failure says so too.
  const queueMarked = async () => {
    const queued = await queue();
    if (queued.replayed) reply.header('idempotent-replayed', 'true');
    return queued;
  };
  if (waitMs === undefined) {
    const queued = await queueMarked();
    reply.code(202);
    return { messageId: queued.messageId, status: queued.status, timestamp: queued.timestamp };
  }
  const { queued, sent } = await queueAndAwaitSent({ em: request.em, liveFeed: waiting.liveFeed }, device, waitMs, queueMarked, waiting.closing);
  if (!sent) {
    reply.code(202);
    return { messageId: queued.messageId, status: queued.status, timestamp: queued.timestamp, timedOut: true };
  }
  reply.code(200);
  return { messageId: queued.messageId, status: sent.status, timestamp: sent.sentAt.toISOString(), timedOut: false };
}

export const answer = ({ messageId, status, timestamp, timedOut }: SendAnswer) =>
  ({ success: true, data: { messageId, status, timestamp, ...(timedOut === undefined ? {} : { timedOut }) } }) as const;

// Seed 003's shape of the same answer.
const Seed003Accepted = Type.Object({
  success: Type.Literal(true),
  message_id: Type.String(),
  status: Type.String(),
  timestamp: IsoDate,
  timed_out: Type.Optional(Type.Boolean({ description: 'Only after a wait (?wait=sent, Prefer: wait=N): true when it ran out before the ack' })),
});
export const seed003 = ({ messageId, status, timestamp, timedOut }: SendAnswer) =>
  ({ success: true, message_id: messageId, status, timestamp, ...(timedOut === undefined ? {} : { timed_out: timedOut }) }) as const;
export const seed003Responses = { 200: Seed003Accepted, 202: Seed003Accepted, ...errors(400, 401, 404, 409, 429, 502) };
