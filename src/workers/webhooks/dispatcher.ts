import type { Queue } from 'bullmq';
import type { Orm } from '../../db/orm.ts';
import { deliveryIdOf, wantsEvent, type EndpointScope } from '../../domain/webhooks.ts';
import { readTimeRange, sqlOf, type RecordedEvent, type Sql } from '../../events/event-store.ts';
import type { Projection } from '../../events/projections/projection.ts';
import { jobEventOf, type DeliveryJobData } from './deliver.ts';

// Follows the event log from its checkpoint (with the projection runner, so it resumes where it stopped after a
// crash) and puts one job per (event, matching endpoint) on the webhooks queue. The job id is the delivery id, a
// digest of the pair: a batch that runs again after a crash adds no second job.

interface LiveEndpoint extends EndpointScope {
  id: string;
  createdAt: Date;
}

async function enabledEndpoints(sql: Sql): Promise<LiveEndpoint[]> {
  const rows = await sql('select id, user_id, device_id, format, events, created_at from webhook_endpoints where enabled');
  return rows.map((r) => ({
    id: String(r.id),
    userId: Number(r.user_id),
    deviceId: r.device_id === null ? null : Number(r.device_id),
    format: r.format as EndpointScope['format'],
    events: r.events as string[],
    createdAt: new Date(r.created_at as string),
  }));
}

const deliveryJob = (endpointId: string, event: RecordedEvent, replayId?: string) => {
  const deliveryId = deliveryIdOf(endpointId, event.eventId, replayId);
  const data: DeliveryJobData = { deliveryId, endpointId, event: jobEventOf(event) };
  return { name: 'deliver' as const, data, opts: { jobId: deliveryId } };
};

export function webhookDispatcher(queue: Queue): Projection {
  return {
    name: 'webhook-dispatcher',
    handles: ['*'],
    async apply(sql, events) {
      const endpoints = await enabledEndpoints(sql);
      if (!endpoints.length) return;
      // An endpoint receives what happens from its creation on (replays reach further back on request).
      const jobs = events.flatMap((event) =>
        endpoints.filter((endpoint) => endpoint.createdAt <= event.recordedAt && wantsEvent(endpoint, event)).map((endpoint) => deliveryJob(endpoint.id, event)),
      );
      if (jobs.length) await queue.addBulk(jobs);
    },
    // Nothing to empty: deliveries already scheduled are not taken back.
    async reset() {},
  };
}

export interface ReplayJobData {
  endpointId: string;
  replayId: string;
  since: string;
  until: string;
  events?: string[];
}

const REPLAY_PAGE = 500;

// Schedules a delivery, under the replay's own ids, of every event of the range the endpoint wants (optionally
// narrowed to some event names). Runs as a job: a range may hold millions of events, and a restart resumes it
// (delivery ids make a page scheduled twice harmless).
export async function replayRange(orm: Orm, queue: Queue, { endpointId, replayId, since, until, events: names }: ReplayJobData): Promise<number> {
  const em = orm.em.fork();
  const [row] = await sqlOf(em)('select id, user_id, device_id, format, events from webhook_endpoints where id = ?', [endpointId]);
  if (!row) return 0;
  const endpoint: EndpointScope = {
    userId: Number(row.user_id),
    deviceId: row.device_id === null ? null : Number(row.device_id),
    format: row.format as EndpointScope['format'],
    events: row.events as EndpointScope['events'],
  };
  const filter = { tenantId: endpoint.userId, ...(endpoint.deviceId !== null ? { deviceId: endpoint.deviceId } : {}) };
  let after = 0;
  let scheduled = 0;
  for (;;) {
    const page = await readTimeRange(em, { since: new Date(since), until: new Date(until) }, after, REPLAY_PAGE, filter);
    if (!page.length) return scheduled;
    const jobs = page.filter((event) => wantsEvent(endpoint, event) && (!names || wantsEvent(endpoint, event, names))).map((event) => deliveryJob(endpointId, event, replayId));
    if (jobs.length) await queue.addBulk(jobs);
    scheduled += jobs.length;
    after = page.at(-1)!.position;
  }
}
