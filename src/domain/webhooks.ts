import { createHash, randomBytes } from 'node:crypto';
import { isInternalEvent } from './events.ts';

// Webhook rules that need no I/O: which events an endpoint receives, under which public name, and when a failed
// delivery is tried again.

// Seed 004's names for the events its receivers know; every other event keeps its own type as its name.
const PUBLIC_NAMES: Record<string, string> = {
  'message.received': 'message',
  'device.connecting': 'connection',
  'device.connected': 'connection',
  'device.disconnected': 'connection',
  'device.logged-out': 'connection',
  'device.failed': 'connection',
  'device.qr-issued': 'qr',
  'message.sent': 'status',
  'message.delivered': 'status',
  'message.read': 'status',
  'message.played': 'status',
  'message.failed': 'status',
};

export function publicNameOf(type: string): string {
  return PUBLIC_NAMES[type] ?? type;
}

// Webhook bookkeeping is never delivered by webhook (a failing endpoint would feed itself), nor the worker's own
// events (they carry media keys).
export function isDeliverable(type: string): boolean {
  return !type.startsWith('webhook.') && !isInternalEvent(type);
}

// `*`, an exact name (public or our own: `message` or `message.received`), or a prefix (`message.*`).
export function matchesEventFilter(filters: readonly string[], type: string): boolean {
  const names = [type, publicNameOf(type)];
  return filters.some((filter) => {
    if (filter === '*') return true;
    if (filter.endsWith('.*')) return names.some((name) => name.startsWith(filter.slice(0, -1)));
    return names.includes(filter);
  });
}

// The same event to the same endpoint is the same delivery, whoever schedules it and however often; a replay is a
// delivery of its own.
export function deliveryIdOf(endpointId: string, eventId: string, replayId?: string): string {
  const digest = createHash('sha256').update(`${endpointId}|${eventId}|${replayId ?? ''}`).digest('hex');
  return `dlv_${digest.slice(0, 32)}`;
}

export function newEndpointId(): string {
  return `whe_${randomBytes(12).toString('hex')}`;
}

export function newReplayId(): string {
  return `rpl_${randomBytes(8).toString('hex')}`;
}

// Standard Webhooks secrets: `whsec_` and base64 of random bytes (24 here, within the spec's 24–64).
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export interface RetryRule {
  retryOnFailure: boolean;
  // Retries after the first attempt; undefined: as many as the schedule has delays.
  maxRetries?: number | null;
}

// How many attempts a delivery gets in all.
export function attemptsAllowed(rule: RetryRule, schedule: readonly number[]): number {
  if (!rule.retryOnFailure) return 1;
  return 1 + (rule.maxRetries ?? schedule.length);
}

// The wait before retry number `retry` (1 = the first retry): the schedule's delay (its last one for retries past its
// end) spread by ±jitter, or what the receiver asked for with Retry-After.
export function retryDelayMs(retry: number, schedule: readonly number[], jitter: number, random: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const base = schedule[Math.min(retry, schedule.length) - 1] ?? 0;
  return Math.max(0, Math.round(base * (1 + jitter * (2 * random - 1))));
}

// Retry-After as seconds or an HTTP date, bounded to a day; undefined when absent or unreadable.
export function parseRetryAfter(header: string | undefined, now: Date): number | undefined {
  if (!header) return undefined;
  const ms = /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : Date.parse(header) - now.getTime();
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), 86_400_000);
}

export interface EndpointScope {
  userId: number;
  deviceId: number | null;
  format: 'standard' | 'seed003';
  events: readonly string[];
}

export interface EventFacts {
  type: string;
  metadata: { tenantId?: number; deviceId?: number };
}

// Whether an endpoint receives an event: its owner's, of its device when it has one, named by its filter (seed 003's
// receivers know only received messages).
export function wantsEvent(endpoint: EndpointScope, event: EventFacts, filter: readonly string[] = endpoint.events): boolean {
  if (!isDeliverable(event.type) || event.metadata.tenantId !== endpoint.userId) return false;
  if (endpoint.deviceId !== null && event.metadata.deviceId !== endpoint.deviceId) return false;
  if (endpoint.format === 'seed003' && event.type !== 'message.received') return false;
  return matchesEventFilter(filter, event.type);
}
