// Event-store appends (appendToStream: duplicate check, stream version check and bump, insert, pg_notify, all in
// one transaction) against plain autocommit INSERTs of the same rows into a copy of the events table, in the
// same database and run, 16 concurrent writers each, so the ratio is the event store's own cost on this machine.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { openOrm, ormOptions, type Orm } from '../src/db/orm.ts';
import { migrate } from '../src/db/schema.ts';
import { EVENT_VERSIONS, type DomainEvent } from '../src/domain/events.ts';
import { appendToStream, type EventMetadata } from '../src/events/event-store.ts';
import { createTestResources } from '../tests/helpers/resources.ts';
import { cleanupAll, cpuSteal, percentile, warnOnSteal } from './stats.ts';
import type { Row } from './types.ts';

const WRITERS = 16;
const EVENTS_PER_WRITER = 300;
// Both sides take turns, in rounds, so a noisy spell on a shared host (steal time, another database's
// checkpoint) lands on both rather than on whichever side ran during it.
const ROUNDS = 6;
// Opens every pooled connection and warms PostgreSQL's caches and plans before anything is timed.
const WARMUP_PER_WRITER = 20;

interface Tally {
  events: number;
  seconds: number;
  latencies: number[];
}

const emptyTally = (): Tally => ({ events: 0, seconds: 0, latencies: [] });

// Appends one event at stream version `version + 1`, knowing the stream stands at `version`.
type AppendOne = (streamId: string, version: number, event: DomainEvent, metadata: EventMetadata) => Promise<unknown>;

// Each writer owns one stream, as an aggregate would, and appends one event at a time.
async function drive(appendOne: AppendOne, perWriter: number, tally = emptyTally()): Promise<Tally> {
  const run = randomUUID().slice(0, 8);
  const start = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      const metadata: EventMetadata = { tenantId: 1, deviceId: w + 1, sessionId: `user_1_device_${w + 1}` };
      for (let version = 0; version < perWriter; version++) {
        const event: DomainEvent = { type: 'message.queued', data: { messageId: `${run}-${w}-${version}`, to: '6281100000000@s.whatsapp.net', content: { type: 'text', text: 'bench' } } };
        const t = performance.now();
        await appendOne(`bench-${run}-${w}`, version, event, metadata);
        tally.latencies.push(performance.now() - t);
      }
    }),
  );
  tally.seconds += (performance.now() - start) / 1000;
  tally.events += WRITERS * perWriter;
  return tally;
}

function platformAppend(orm: Orm): AppendOne {
  return (streamId, version, event, metadata) =>
    appendToStream(orm.em.fork(), streamId, [{ event }], { expectedVersion: version === 0 ? 'no-stream' : version, metadata });
}

// The same columns and values appendToStream writes, one autocommit statement per event, nothing else.
function baselineAppend(pool: pg.Pool): AppendOne {
  return (streamId, version, event, metadata) =>
    pool.query(
      `insert into events_baseline (event_id, stream_id, stream_version, type, type_version, data, metadata, tenant_id, device_id, session_id)
       values ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10) returning global_position`,
      [
        randomUUID(),
        streamId,
        version + 1,
        event.type,
        EVENT_VERSIONS[event.type],
        JSON.stringify(event.data),
        JSON.stringify(metadata),
        metadata.tenantId ?? null,
        metadata.deviceId ?? null,
        metadata.sessionId ?? null,
      ],
    );
}

export default async function append(): Promise<Row[]> {
  const resources = createTestResources('bench');
  const databaseUrl = resources.databaseUrl;
  const ormPoolMax = ormOptions(databaseUrl).pool?.max ?? Number.POSITIVE_INFINITY;
  let orm: Orm | undefined;
  let pool: pg.Pool | undefined;
  try {
    orm = await openOrm(databaseUrl);
    await migrate(orm);
    pool = new pg.Pool({ connectionString: databaseUrl, max: WRITERS });
    // pool.end() resolves before its sockets close, so dropping the database at cleanup can still terminate an
    // idle backend (57P01); anything else is worth seeing.
    pool.on('error', (err: Error & { code?: string }) => err.code === '57P01' || console.error('append: idle pg client failed:', err));
    // Same columns, defaults (global_position shares the events sequence) and indexes (primary key, unique
    // event_id, unique stream version, both feed indexes): every index the event store maintains, maintained here.
    await pool.query('create table events_baseline (like events including defaults including indexes)');

    const [onPlatform, onBaseline] = [platformAppend(orm), baselineAppend(pool)];
    await drive(onPlatform, WARMUP_PER_WRITER);
    await drive(onBaseline, WARMUP_PER_WRITER);
    const [platform, baseline] = [emptyTally(), emptyTally()];
    const steal = cpuSteal();
    for (let n = 0; n < ROUNDS; n++) {
      await drive(onBaseline, EVENTS_PER_WRITER / ROUNDS, baseline);
      await drive(onPlatform, EVENTS_PER_WRITER / ROUNDS, platform);
    }
    warnOnSteal('append', steal());

    // The ORM's pool is smaller than the writer count, so some writers queue for a connection: that wait is
    // part of the platform as shipped, and is counted in its latency.
    const capped = ormPoolMax < WRITERS ? `; ORM pool max ${ormPoolMax} < ${WRITERS} writers` : '';
    const name = `append ${WRITERS} writers × ${EVENTS_PER_WRITER}: appendToStream vs plain INSERT`;
    const row = (metric: string, unit: string, better: Row['better'], pick: (t: Tally) => number): Row => {
      const [p, b] = [pick(platform), pick(baseline)];
      return { name, metric, platform: p, baseline: b, unit, ratio: p / b, better };
    };
    return [
      row(`throughput${capped}`, 'events/s', 'higher', (t) => t.events / t.seconds),
      row('p99 append latency', 'ms', 'lower', (t) => percentile(t.latencies, 0.99)),
    ];
  } finally {
    await cleanupAll('append', [async () => orm?.close(true), async () => pool?.end(), () => resources.cleanup()]);
  }
}
