import type { EntityManager } from '@mikro-orm/postgresql';
import type { Queue } from 'bullmq';
import type { WebhookEndpoint } from '../db/entities/webhook-endpoint.ts';
import { decodeCursor, encodeCursor } from '../db/keyset-cursor.ts';
import { AppError } from '../domain/errors.ts';
import { streamOf } from '../domain/events.ts';
import { newReplayId } from '../domain/webhooks.ts';
import { appendToStream, readEventAt, sqlOf, type Row } from '../events/event-store.ts';
import { jobEventOf, type DeliveryJobData } from '../workers/webhooks/deliver.ts';
import type { ReplayJobData } from '../workers/webhooks/dispatcher.ts';

// Webhook deliveries as the API shows them (from the webhook-deliveries projection), and the requests that send
// some again: a redelivery of one, a replay of a time range.

const iso = (value: unknown) => (value ? new Date(value as string).toISOString() : null);

function attemptView(row: Row) {
  return {
    number: Number(row.number),
    at: iso(row.at)!,
    outcome: String(row.outcome),
    statusCode: row.status_code === null ? null : Number(row.status_code),
    latencyMs: Number(row.latency_ms),
    responseSnippet: (row.response_snippet as string | null) ?? null,
    error: (row.error as string | null) ?? null,
  };
}

function deliveryView(row: Row, attempts: Row[]) {
  return {
    id: String(row.id),
    endpointId: String(row.endpoint_id),
    eventId: String(row.event_id),
    eventPosition: Number(row.event_position),
    eventType: String(row.event_type),
    status: String(row.status),
    attempts: Number(row.attempts),
    lastStatusCode: row.last_status_code === null ? null : Number(row.last_status_code),
    lastError: (row.last_error as string | null) ?? null,
    lastAttemptAt: iso(row.last_attempt_at),
    nextAttemptAt: iso(row.next_attempt_at),
    deliveredAt: iso(row.delivered_at),
    createdAt: iso(row.created_at)!,
    attemptLog: attempts.map(attemptView),
  };
}

export type DeliveryView = ReturnType<typeof deliveryView>;

export interface DeliveryFilter {
  tenantId?: number;
  endpointId?: string;
  // A bound credential's devices: deliveries of endpoints of other devices, or of none, are left out.
  deviceIds?: readonly number[];
  status?: string;
  since?: Date;
}

// Newest first, each with its attempts.
export async function listDeliveries(em: EntityManager, filter: DeliveryFilter, limit: number, cursor?: string): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
  const sql = sqlOf(em);
  const clauses: [string, unknown][] = [];
  if (filter.tenantId !== undefined) clauses.push(['tenant_id = ?', filter.tenantId]);
  if (filter.endpointId !== undefined) clauses.push(['endpoint_id = ?', filter.endpointId]);
  if (filter.deviceIds !== undefined) {
    clauses.push(['endpoint_id in (select id from webhook_endpoints where device_id = any(?::int[]))', `{${filter.deviceIds.join(',')}}`]);
  }
  if (filter.status !== undefined) clauses.push(['status = ?', filter.status]);
  if (filter.since !== undefined) clauses.push(['created_at >= ?', filter.since.toISOString()]);
  const after = decodeCursor(cursor);
  if (after) clauses.push(['(created_at, id) < (?::timestamptz, ?)', after]);
  const rows = await sql(
    `select * from webhook_deliveries where true ${clauses.map(([c]) => `and ${c}`).join(' ')} order by created_at desc, id desc limit ?`,
    [...clauses.flatMap(([, p]) => (Array.isArray(p) ? p : [p])), limit + 1],
  );
  const shown = rows.slice(0, limit);
  const attempts = shown.length
    ? await sql('select * from webhook_attempts where delivery_id in (?) order by delivery_id, number', [shown.map((r) => r.id)])
    : [];
  const items = shown.map((row) => deliveryView(row, attempts.filter((a) => a.delivery_id === row.id)));
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
}

export async function findDelivery(em: EntityManager, endpoint: WebhookEndpoint, deliveryId: string): Promise<DeliveryView> {
  const sql = sqlOf(em);
  const [row] = await sql('select * from webhook_deliveries where id = ? and endpoint_id = ?', [deliveryId, endpoint.id]);
  if (!row) throw new AppError('DELIVERY_NOT_FOUND', `Delivery ${deliveryId} not found for webhook ${endpoint.id}`);
  return deliveryView(row, await sql('select * from webhook_attempts where delivery_id = ? order by number', [deliveryId]));
}

// Sends a delivery again from its first attempt (the same `webhook-id`): the request is in the log before its job.
export async function redeliver(em: EntityManager, queue: Queue, endpoint: WebhookEndpoint, delivery: DeliveryView): Promise<void> {
  if (delivery.status === 'retrying' || delivery.status === 'redelivering') {
    throw new AppError('VALIDATION_ERROR', `Delivery ${delivery.id} is still being tried (${delivery.status})`);
  }
  const event = await readEventAt(em, delivery.eventPosition);
  if (!event) throw new AppError('DELIVERY_NOT_FOUND', `The event of delivery ${delivery.id} is no longer in the log`);
  const { nextVersion } = await appendToStream(
    em,
    streamOf.webhookDelivery(delivery.id),
    [{ event: { type: 'webhook.redelivery-requested', data: { deliveryId: delivery.id, endpointId: endpoint.id } } }],
    { expectedVersion: 'any', metadata: { tenantId: endpoint.user.id } },
  );
  const data: DeliveryJobData = { deliveryId: delivery.id, endpointId: endpoint.id, event: jobEventOf(event) };
  await queue.add('deliver', data, { jobId: `${delivery.id}-r${nextVersion}` });
}

// Schedules a replay of what happened in a time range (to now when open-ended); the job finds the events.
export async function replay(em: EntityManager, queue: Queue, endpoint: WebhookEndpoint, range: { since: Date; until?: Date; events?: string[] }, now: Date): Promise<string> {
  const until = range.until ?? now;
  if (until < range.since) throw new AppError('VALIDATION_ERROR', '`until` is before `since`');
  const replayId = newReplayId();
  const data: ReplayJobData = { endpointId: endpoint.id, replayId, since: range.since.toISOString(), until: until.toISOString(), ...(range.events ? { events: range.events } : {}) };
  await appendToStream(em, streamOf.webhookEndpoint(endpoint.id), [{ event: { type: 'webhook.replay-requested', data } }], {
    expectedVersion: 'any',
    metadata: { tenantId: endpoint.user.id },
  });
  await queue.add('replay', data, { jobId: replayId });
  return replayId;
}
