import type { DomainEvent } from './events.ts';

// A message's status only moves forward: queued → sent → delivered → read → played. A receipt that arrives
// late (delivered after read) changes nothing. A failure counts only before the message reached WhatsApp; after
// a failure, a resend (queued again) or a late server ack moves it on.
export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'read' | 'played' | 'failed' | 'cancelled' | 'received';

const RANK: Record<MessageStatus, number> = { queued: 0, failed: 1, cancelled: 1, sent: 2, delivered: 3, read: 4, played: 5, received: 0 };

const STATUS_OF: Partial<Record<DomainEvent['type'], MessageStatus>> = {
  'message.queued': 'queued',
  'message.sent': 'sent',
  // Written on the phone or another companion: on WhatsApp by the time we hear of it.
  'message.sent-by-owner': 'sent',
  'message.delivered': 'delivered',
  'message.read': 'read',
  'message.played': 'played',
  'message.failed': 'failed',
  'message.cancelled': 'cancelled',
  'message.received': 'received',
};

export function statusOf(type: string): MessageStatus | undefined {
  return STATUS_OF[type as DomainEvent['type']];
}

// The status after `next` happens to a message in `current` (undefined: not seen yet), or undefined when the
// event does not move it.
export function advance(current: MessageStatus | undefined, next: MessageStatus): MessageStatus | undefined {
  if (current === undefined) return next;
  if (current === 'received' || next === 'received') return undefined;
  // A cancelled message is final, unless WhatsApp had it after all (a send already under way).
  if (current === 'cancelled') return RANK[next] > RANK.cancelled ? next : undefined;
  if (current === 'failed') return next === 'failed' || next === 'cancelled' ? undefined : next;
  if (next === 'failed' || next === 'cancelled') return current === 'queued' ? next : undefined;
  return RANK[next] > RANK[current] ? next : undefined;
}

// A message's status after these events (in stream order), or undefined when none moves it.
export function foldStatus(types: string[]): MessageStatus | undefined {
  let status: MessageStatus | undefined;
  for (const type of types) {
    const next = statusOf(type);
    if (next) status = advance(status, next) ?? status;
  }
  return status;
}

const PROGRESS: MessageStatus[] = ['sent', 'delivered', 'read', 'played'];

// The statuses a message reaches by moving from `from` to `to`: a skipped step was reached too (a receipt that
// beats the server ack means the message was sent), so stats count each message once at every step it passed.
export function reachedBy(from: MessageStatus | undefined, to: MessageStatus): MessageStatus[] {
  const start = PROGRESS.indexOf(to);
  if (start < 0) return [to];
  const floor = from && from !== 'failed' && from !== 'cancelled' ? RANK[from] : RANK.queued;
  return PROGRESS.slice(0, start + 1).filter((status) => RANK[status] > floor);
}
