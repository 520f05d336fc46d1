import type { Redis } from 'ioredis';

// Which of our messages a WhatsApp id names, written before the message is handed over: a receipt can reach a
// worker that took the session over before any process recorded `message.sent` (the sender died in between). After
// a day the log's `message.sent` answers (receipts that late are rare).
const keyOf = (prefix: string, deviceId: number, waMessageId: string) => `${prefix}:wa-id:${deviceId}:${waMessageId}`;
const TTL_SECONDS = 24 * 3600;

export async function rememberWaMessageId(redis: Redis, prefix: string, deviceId: number, waMessageId: string, messageId: string): Promise<void> {
  await redis.set(keyOf(prefix, deviceId, waMessageId), messageId, 'EX', TTL_SECONDS);
}

export function messageIdOfWa(redis: Redis, prefix: string, deviceId: number, waMessageId: string): Promise<string | null> {
  return redis.get(keyOf(prefix, deviceId, waMessageId));
}
