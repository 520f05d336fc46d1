import type { Coordination } from '../../coordination/coordination.ts';

// Which of our messages a WhatsApp id names, written before the message is handed over: a receipt can reach a
// worker that took the session over before any process recorded `message.sent` (the sender died in between). After
// a day the log's `message.sent` answers (receipts that late are rare).
const keyOf = (deviceId: number, waMessageId: string) => `wa-id:${deviceId}:${waMessageId}`;
const TTL_MS = 24 * 3600_000;

export function rememberWaMessageId(coordination: Coordination, deviceId: number, waMessageId: string, messageId: string): Promise<void> {
  return coordination.set(keyOf(deviceId, waMessageId), messageId, TTL_MS);
}

export function messageIdOfWa(coordination: Coordination, deviceId: number, waMessageId: string): Promise<string | undefined> {
  return coordination.get(keyOf(deviceId, waMessageId));
}
