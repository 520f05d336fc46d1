import type { EventPayloads } from '../../domain/events.ts';
import type { Projection } from './projection.ts';

type Attempted = EventPayloads['webhook.attempted'];
type Abandoned = EventPayloads['webhook.delivery-abandoned'];

const DELIVERY_COLUMNS = 'id, endpoint_id, tenant_id, event_id, event_position, event_type, status, attempts, last_status_code, last_error, last_attempt_at, next_attempt_at, delivered_at, created_at';

// Webhook deliveries and their attempts, from `webhook.*` events: what the deliveries API lists, and its dead
// letters (status `failed`).
export const webhookDeliveriesProjection: Projection = {
  name: 'webhook-deliveries',
  handles: ['webhook.attempted', 'webhook.delivery-abandoned', 'webhook.redelivery-requested'],

  // Attempts of a run of events are written with one statement, and so are their deliveries (a delivery attempted
  // twice in the run written once, as its last attempt left it); an abandonment or a redelivery request applies
  // to what came before it, so it ends a run.
  async apply(sql, events) {
    const attempts: Record<string, unknown>[] = [];
    const deliveries = new Map<string, Record<string, unknown>>();
    const flush = async () => {
      if (!deliveries.size) return;
      await sql(
        `insert into webhook_deliveries (${DELIVERY_COLUMNS})
         select * from jsonb_to_recordset(?::jsonb) as r(id text, endpoint_id text, tenant_id int, event_id uuid, event_position bigint, event_type text,
           status text, attempts int, last_status_code int, last_error text, last_attempt_at timestamptz, next_attempt_at timestamptz,
           delivered_at timestamptz, created_at timestamptz)
         on conflict (id) do update set status = excluded.status, attempts = excluded.attempts, last_status_code = excluded.last_status_code,
           last_error = excluded.last_error, last_attempt_at = excluded.last_attempt_at, next_attempt_at = excluded.next_attempt_at,
           delivered_at = coalesce(excluded.delivered_at, webhook_deliveries.delivered_at)`,
        [JSON.stringify([...deliveries.values()])],
      );
      deliveries.clear();
    };
    for (const event of events) {
      const at = event.recordedAt.toISOString();
      const tenantId = event.metadata.tenantId ?? 0;
      if (event.type === 'webhook.attempted') {
        const a = event.data as unknown as Attempted;
        const before = deliveries.get(a.deliveryId);
        deliveries.set(a.deliveryId, {
          id: a.deliveryId,
          endpoint_id: a.endpointId,
          tenant_id: tenantId,
          event_id: a.eventId,
          event_position: a.eventPosition,
          event_type: a.eventType,
          status: a.outcome === 'delivered' ? 'delivered' : a.outcome,
          attempts: a.attempt,
          last_status_code: a.statusCode ?? null,
          last_error: a.error ?? null,
          last_attempt_at: at,
          next_attempt_at: a.nextAttemptAt ?? null,
          delivered_at: a.outcome === 'delivered' ? at : (before?.delivered_at ?? null),
          created_at: before?.created_at ?? at,
        });
        attempts.push({
          delivery_id: a.deliveryId,
          number: a.attempt,
          at,
          outcome: a.outcome,
          status_code: a.statusCode ?? null,
          latency_ms: a.latencyMs,
          response_snippet: a.responseSnippet ?? null,
          error: a.error ?? null,
        });
        continue;
      }
      await flush();
      if (event.type === 'webhook.delivery-abandoned') {
        const a = event.data as unknown as Abandoned;
        await sql(
          `insert into webhook_deliveries (${DELIVERY_COLUMNS}) values (?, ?, ?, ?, ?, ?, 'failed', 0, null, ?, null, null, null, ?)
           on conflict (id) do update set status = 'failed', last_error = excluded.last_error, next_attempt_at = null`,
          [a.deliveryId, a.endpointId, tenantId, a.eventId, a.eventPosition, a.eventType, a.reason, at],
        );
      } else {
        await sql(`update webhook_deliveries set status = 'redelivering', next_attempt_at = null where id = ?`, [String(event.data.deliveryId)]);
      }
    }
    await flush();
    if (attempts.length) {
      await sql(
        `insert into webhook_attempts (delivery_id, number, at, outcome, status_code, latency_ms, response_snippet, error)
         select * from jsonb_to_recordset(?::jsonb) as r(delivery_id text, number int, at timestamptz, outcome text, status_code int,
                                                       latency_ms int, response_snippet text, error text)
         on conflict do nothing`,
        [JSON.stringify(attempts)],
      );
    }
  },

  async reset(sql) {
    await sql('delete from webhook_attempts');
    await sql('delete from webhook_deliveries');
  },
};
