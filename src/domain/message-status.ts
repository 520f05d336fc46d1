import type { DomainEvent } from './events.ts';

// A message's status only moves forward: queued → sent → delivered → read → played. A receipt that arrives
// late (delivered after read) changes nothing. A failure counts only before the message reached WhatsApp; after
// a failure, a resend (queued again) or a late server ack moves it on.
export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'read' | 'played' | 'failed' | 'received';

const RANK: Record<MessageStatus, number> = { queued: 0, failed: 1, sent: 2, delivered: 3, read: 4, played: 5, received: 0 };

const STATUS_OF: Partial<Record<DomainEvent['type'], MessageStatus>> = {
  'message.queued': 'queued',
  'message.sent': 'sent',
  'message.delivered': 'delivered',
  'message.read': 'read',
  'message.played': 'played',
  'message.failed': 'failed',
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
  if (current === 'failed') return next === 'failed' ? undefined : next;
  if (next === 'failed') return current === 'queued' ? 'failed' : undefined;
  return RANK[next] > RANK[current] ? next : undefined;
}
