// Accepting a 10,000-recipient campaign (POST /api/whatsapp/send/bulk over HTTP: JSON schema validation, each
// number parsed, each text rendered, the campaign and 10,000 `message.queued` events appended in one transaction)
// against two raw components, in the same database, Redis and run:
// - one multi-row INSERT of the same 10,000 event rows into a copy of the events table (what the POST stores);
// - one BullMQ `addBulk` of the 10,000 jobs the send dispatcher makes of those events (same data and options, from
//   `sendJobOptions`) onto a fresh queue: what a platform without the log in between would do in its request.
// The POST answers once the events are in the log; the jobs follow, added by the dispatcher (a checkpointed log
// reader of the worker role, in batches of 500). So the 202 row covers validation and the log only, and a third row
// times request → all 10,000 jobs on the session's queue, the platform's like-for-like with `addBulk`. The issue asks
// for well under a second on the platform side.
import type { JobsOptions } from 'bullmq';
import pg from 'pg';
import { createLogger } from '../src/logger.ts';
import { openOrm } from '../src/db/orm.ts';
import { createAppendNotifier } from '../src/events/notifier.ts';
import { startLogReaders } from '../src/events/projections/index.ts';
import { openCoordination } from '../src/backends.ts';
import { closeQueues, createQueues } from '../src/workers/queues.ts';
import { sendDispatcher } from '../src/workers/sending/dispatcher.ts';
import { webhookDispatcher } from '../src/workers/webhooks/dispatcher.ts';
import { SendQueues, sendJobOptions, type SendJobData } from '../src/workers/sending/send-queues.ts';
import { until } from '../tests/helpers/wait.ts';
import { startBenchPlatform } from './platform.ts';
import { cleanupAll, cpuSteal, percentile, warnOnSteal } from './stats.ts';
import type { Row } from './types.ts';

const RECIPIENTS = 10_000;
const ROUNDS = 5;
// Queue length is polled this often while the dispatcher works: a finer poll would compete with it for the CPU.
const POLL_MS = 5;

export default async function bulk(): Promise<Row[]> {
  const platform = await startBenchPlatform();
  const { config } = platform.app;
  const closers: (() => Promise<unknown>)[] = [() => platform.close()];
  try {
    const databaseUrl = config.databaseUrl!;
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    closers.push(() => db.end());
    const logger = createLogger(config);
    const { queueBackend, close } = await openCoordination(config, databaseUrl, logger);
    closers.push(close);
    // The worker role's log readers as src/platform.ts starts them (the read models, and the send and webhook
    // dispatchers among the reactors), without the session host: nothing is sent here, only dispatched.
    const orm = await openOrm(databaseUrl);
    closers.push(() => orm.close());
    const notifier = await createAppendNotifier(databaseUrl, logger);
    closers.push(() => notifier.close());
    const sendQueues = new SendQueues(queueBackend);
    closers.push(() => sendQueues.close());
    const queues = createQueues(queueBackend);
    closers.push(() => closeQueues(queues));
    const runner = startLogReaders(orm, [sendDispatcher(sendQueues, () => new Date()), webhookDispatcher(queues.webhooks)], notifier, logger);
    closers.push(() => runner.close());

    const headers = { 'x-api-token': platform.token, 'content-type': 'application/json' };
    const session = (await (await fetch(`${platform.address}/api/sessions`, { method: 'POST', headers, body: JSON.stringify({ name: 'bulk-bench' }) })).json()) as { session_id: string };
    const [device] = (await db.query('select id from devices where session_id = $1', [session.session_id])).rows as { id: number }[];
    const sessionQueue = sendQueues.of(Number(device!.id));
    await db.query('create table bench_events (like events including all)');
    const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({ phoneNumber: `+62818${String(i).padStart(7, '0')}`, variables: { n: i } }));
    const acceptMs: number[] = [];
    const dispatchedMs: number[] = [];
    const insertMs: number[] = [];
    const addBulkMs: number[] = [];
    const steal = cpuSteal();
    for (let round = 0; round < ROUNDS; round++) {
      const body = JSON.stringify({ sessionId: session.session_id, message: 'Hello {n}', recipients });
      let start = performance.now();
      const res = await fetch(`${platform.address}/api/whatsapp/send/bulk`, { method: 'POST', headers, body });
      if (res.status !== 202) throw new Error(`bulk answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      acceptMs.push(performance.now() - start);
      const deadline = Date.now() + 60_000;
      while ((await sessionQueue.count()) < RECIPIENTS) {
        if (Date.now() > deadline) throw new Error(`round ${round}: ${await sessionQueue.count()} of ${RECIPIENTS} jobs dispatched after 60 s`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      dispatchedMs.push(performance.now() - start);
      // Projections still at work would take CPU from the baselines below; the queue is emptied so every round
      // dispatches onto a queue as short as the baseline's fresh one.
      await until(async () => {
        const { rows } = await db.query('select (select min(global_position) from projection_checkpoints) >= (select max(global_position) from events) as done');
        return rows[0]?.done ? true : undefined;
      }, 'projections caught up', 60_000);
      await sessionQueue.obliterate({ force: true });

      const rows = recipients.map((r, i) => ({
        event_id: crypto.randomUUID(),
        stream_id: `bench-${round}-${i}`,
        type: 'message.queued',
        data: { messageId: `bench-${round}-${i}`, to: r.phoneNumber, content: { type: 'text', text: `Hello ${i}` } },
      }));
      start = performance.now();
      await db.query(
        `insert into bench_events (event_id, stream_id, stream_version, type, type_version, data, metadata)
         select event_id, stream_id, 1, type, 1, data, '{}'::jsonb from jsonb_to_recordset($1::jsonb) as r(event_id uuid, stream_id text, type text, data jsonb)`,
        [JSON.stringify(rows)],
      );
      insertMs.push(performance.now() - start);

      // The jobs the dispatcher would make of the same 10,000 events (message ids of the platform's shape, stream
      // version 1, no sendAt or priority), built before the clock starts: the raw component is BullMQ and Redis.
      const jobs: { name: 'send'; data: SendJobData; opts: JobsOptions }[] = rows.map((_, i) => {
        const messageId = `msg_bench${round}x${String(i).padStart(5, '0')}`;
        return { name: 'send', data: { messageId }, opts: sendJobOptions(messageId, 1, new Date()) };
      });
      const fresh = queueBackend.queue<SendJobData>(`bench-add-bulk-${round}`);
      start = performance.now();
      await fresh.addBulk(jobs);
      addBulkMs.push(performance.now() - start);
      if ((await fresh.count()) !== RECIPIENTS) throw new Error(`addBulk left ${await fresh.count()} jobs, not ${RECIPIENTS}`);
      await fresh.obliterate({ force: true });
      await fresh.close();
    }
    warnOnSteal('bulk', steal());
    const p50 = (samples: number[]) => percentile(samples, 0.5);
    const name = `bulk campaign (${RECIPIENTS.toLocaleString('en-US')} recipients)`;
    const row = (metric: string, platformMs: number[], baselineMs: number[]): Row => ({
      name,
      metric,
      platform: p50(platformMs),
      baseline: p50(baselineMs),
      unit: 'ms',
      ratio: p50(platformMs) / p50(baselineMs),
      better: 'lower',
    });
    return [
      row('accept p50 (request → 202) vs one multi-row INSERT of the events', acceptMs, insertMs),
      row('accept p50 (request → 202, jobs not yet added) vs one addBulk of the jobs', acceptMs, addBulkMs),
      row('request → all jobs on the session queue p50 vs one addBulk of the jobs', dispatchedMs, addBulkMs),
    ];
  } finally {
    await cleanupAll('bulk', closers.reverse());
  }
}
