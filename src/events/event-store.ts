import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { CompiledQuery, type Kysely } from 'kysely';
import { EVENT_VERSIONS, INTERNAL_EVENT_TYPES, isInternalEvent, type DomainEvent } from '../domain/events.ts';
import { bindParameters } from '../db/sql-parameters.ts';
import { transaction } from '../db/transactions.ts';

// The append-only log in PostgreSQL (tables in migrations/…_event_store.ts). Appends check the stream's
// expected version in the same transaction; reads of the global feed go by (transaction_id, global_position)
// below the oldest running transaction, so they never skip an event that commits late (see README).

export const EVENTS_CHANNEL = 'wa_events';

export interface EventMetadata {
  tenantId?: number;
  deviceId?: number;
  sessionId?: string;
  correlationId?: string;
  causationId?: string;
  // On audit events (src/auth/audit.ts): who acted, through which credential, from where, in which request.
  actor?: { userId: number; username: string; via: string };
  ip?: string;
  requestId?: string;
}

export interface NewEvent {
  event: DomainEvent;
  // Retrying an append with the same ids is a no-op (the first append stands).
  eventId?: string;
}

export type ExpectedVersion = number | 'any' | 'no-stream';

export interface RecordedEvent {
  position: number;
  transactionId: string;
  eventId: string;
  streamId: string;
  streamVersion: number;
  type: string;
  typeVersion: number;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  recordedAt: Date;
}

// Where a reader of the global feed stands: the last event it has seen.
export interface Checkpoint {
  transactionId: string;
  position: number;
}

export const START: Checkpoint = { transactionId: '0', position: 0 };

export class VersionConflictError extends Error {
  readonly streamId: string;
  readonly expected: ExpectedVersion;
  readonly actual: number;
  constructor(streamId: string, expected: ExpectedVersion, actual: number) {
    super(`stream ${streamId} is at version ${actual}, expected ${expected}`);
    this.name = 'VersionConflictError';
    this.streamId = streamId;
    this.expected = expected;
    this.actual = actual;
  }
}

export interface AppendResult {
  nextVersion: number;
  positions: number[];
}

export type Row = Record<string, unknown>;
export type Sql = (query: string, params?: unknown[]) => Promise<Row[]>;

// Plain SQL on the EntityManager's connection, inside its transaction when it has one. Values are bind
// parameters (src/db/sql-parameters.ts), never text of the statement.
export function sqlOf(em: EntityManager): Sql {
  return async (query, params = []) => {
    const { sql, parameters } = bindParameters(query, params);
    const executor = (em.getTransactionContext() as Kysely<unknown> | undefined) ?? em.getConnection().getClient();
    return (await executor.executeQuery(CompiledQuery.raw(sql, parameters))).rows as Row[];
  };
}

function toRecorded(row: Row): RecordedEvent {
  return {
    position: Number(row.global_position),
    transactionId: String(row.transaction_id),
    eventId: String(row.event_id),
    streamId: String(row.stream_id),
    streamVersion: Number(row.stream_version),
    type: String(row.type),
    typeVersion: Number(row.type_version),
    data: row.data as Record<string, unknown>,
    metadata: row.metadata as EventMetadata,
    recordedAt: new Date(row.recorded_at as string),
  };
}

const COLUMNS = 'global_position, transaction_id::text, event_id, stream_id, stream_version, type, type_version, data, metadata, recorded_at';

// Claims the stream's next versions, in SQL for appendOnce's `claimed` step: from the expected one (the
// compare-and-set of optimistic concurrency), or from wherever it is. Nothing is claimed when an event of the append
// is there already. Parameters: stream id and event count (and the expected version).
function claimSql(expected: ExpectedVersion): { sql: string; params: (count: number, streamId: string) => unknown[] } {
  if (expected === 'any') {
    return {
      sql: `insert into streams (stream_id, version) select ?::text, ?::int where not exists (select 1 from existing)
            on conflict (stream_id) do update set version = streams.version + excluded.version, updated_at = now() returning version`,
      params: (count, streamId) => [streamId, count],
    };
  }
  if (expected === 'no-stream' || expected === 0) {
    return {
      sql: `insert into streams (stream_id, version) select ?::text, ?::int where not exists (select 1 from existing)
            on conflict (stream_id) do nothing returning version`,
      params: (count, streamId) => [streamId, count],
    };
  }
  return {
    sql: `update streams set version = version + ?::int, updated_at = now()
           where stream_id = ?::text and version = ?::int and not exists (select 1 from existing) returning version`,
    params: (count, streamId) => [count, streamId, expected],
  };
}

// Appends events to one stream, with or without an expected version. One statement, atomic by itself: when one of
// the ids is there already (a retried append) it returns those events, else it claims the versions and inserts;
// a claim refused by the expected version is a VersionConflictError. One round trip instead of a transaction's five.
export async function appendToStream(
  em: EntityManager,
  streamId: string,
  events: NewEvent[],
  options: { expectedVersion: ExpectedVersion; metadata?: EventMetadata },
): Promise<AppendResult> {
  if (!events.length) throw new Error('appendToStream needs at least one event');
  const metadata = options.metadata ?? {};
  const candidates = events.map(({ event, eventId }, i) => ({ event_id: eventId ?? randomUUID(), idx: i, type: event.type, type_version: EVENT_VERSIONS[event.type], data: event.data }));
  const claim = claimSql(options.expectedVersion);
  // The notification is only a wake-up for live readers in every process; they read the data from the table.
  // PostgreSQL folds the notifications of a transaction into one at commit.
  const rows = await sqlOf(em)(
    `with candidate as (
       select * from jsonb_to_recordset(?::jsonb) as r(event_id uuid, idx int, type text, type_version int, data jsonb)
     ), existing as (
       select global_position, stream_version from events where event_id in (select event_id from candidate)
     ), claimed as (${claim.sql}
     ), inserted as (
       insert into events (event_id, stream_id, stream_version, type, type_version, data, metadata, tenant_id, device_id, session_id)
       select c.event_id, ?::text, claimed.version - ?::int + c.idx + 1, c.type, c.type_version, c.data, ?::jsonb, ?::int, ?::int, ?::text
         from candidate c cross join claimed order by c.idx
       returning global_position, stream_version
     )
     select global_position, stream_version, pg_notify('${EVENTS_CHANNEL}', '') is null as notified from inserted
     union all
     select global_position, stream_version, false from existing
     order by global_position`,
    [
      JSON.stringify(candidates),
      ...claim.params(events.length, streamId),
      streamId,
      events.length,
      JSON.stringify(metadata),
      metadata.tenantId ?? null,
      metadata.deviceId ?? null,
      metadata.sessionId ?? null,
    ],
  );
  if (!rows.length) {
    // Read after the refused claim: the statement's own snapshot may predate the append that moved the stream on.
    const [stream] = await sqlOf(em)('select version from streams where stream_id = ?', [streamId]);
    throw new VersionConflictError(streamId, options.expectedVersion, Number(stream?.version ?? 0));
  }
  return { nextVersion: Math.max(...rows.map((r) => Number(r.stream_version))), positions: rows.map((r) => Number(r.global_position)) };
}

// Appends one event to each of many streams at once (a campaign's messages): two statements in one transaction, so
// ten thousand are written in a fraction of a second. `no-stream` starts new streams, all or nothing (one that
// exists already is a VersionConflictError and nothing is appended); `any` adds to existing ones (streams that do
// not exist are skipped). The rows travel as one JSON parameter (PostgreSQL takes at most 65,535 per statement).
export async function appendToManyStreams(
  em: EntityManager,
  entries: { streamId: string; event: DomainEvent; metadata: EventMetadata }[],
  options: { expectedVersion: 'no-stream' | 'any' },
): Promise<number> {
  if (!entries.length) return 0;
  const rows = entries.map(({ streamId, event, metadata }) => ({
    event_id: randomUUID(),
    stream_id: streamId,
    type: event.type,
    type_version: EVENT_VERSIONS[event.type],
    data: event.data,
    metadata,
    tenant_id: metadata.tenantId ?? null,
    device_id: metadata.deviceId ?? null,
    session_id: metadata.sessionId ?? null,
  }));
  const streams = JSON.stringify(rows.map((r) => ({ stream_id: r.stream_id })));
  return transaction(em, async (tx) => {
    const run = sqlOf(tx);
    const claimed =
      options.expectedVersion === 'no-stream'
        ? await run(
            `insert into streams (stream_id, version) select stream_id, 1 from jsonb_to_recordset(?::jsonb) as r(stream_id text)
             on conflict (stream_id) do nothing returning stream_id, version`,
            [streams],
          )
        : await run(
            `update streams s set version = s.version + 1, updated_at = now() from jsonb_to_recordset(?::jsonb) as r(stream_id text)
              where s.stream_id = r.stream_id returning s.stream_id, s.version`,
            [streams],
          );
    if (options.expectedVersion === 'no-stream' && claimed.length !== rows.length) {
      const fresh = new Set(claimed.map((r) => String(r.stream_id)));
      throw new VersionConflictError(rows.find((r) => !fresh.has(r.stream_id))!.stream_id, 'no-stream', 1);
    }
    // Versions are matched here rather than by a join in SQL: the planner knows nothing of a recordset's size and
    // may pick a nested loop over ten thousand rows each.
    const versions = new Map(claimed.map((c) => [String(c.stream_id), Number(c.version)]));
    const versioned = rows.flatMap((r) => (versions.has(r.stream_id) ? [{ ...r, stream_version: versions.get(r.stream_id) }] : []));
    await run(
      `with inserted as (
         insert into events (event_id, stream_id, stream_version, type, type_version, data, metadata, tenant_id, device_id, session_id)
         select event_id, stream_id, stream_version, type, type_version, data, metadata, tenant_id, device_id, session_id
           from jsonb_to_recordset(?::jsonb) as r(event_id uuid, stream_id text, stream_version int, type text, type_version int,
                                                  data jsonb, metadata jsonb, tenant_id int, device_id int, session_id text)
         returning global_position)
       select pg_notify('${EVENTS_CHANNEL}', '') from inserted limit 1`,
      [JSON.stringify(versioned)],
    );
    return claimed.length;
  });
}

export async function readStream(em: EntityManager, streamId: string): Promise<RecordedEvent[]> {
  const rows = await sqlOf(em)(`select ${COLUMNS} from events where stream_id = ? order by stream_version`, [streamId]);
  return rows.map(toRecorded);
}

// One event by its feed position.
export async function readEventAt(em: EntityManager, position: number): Promise<RecordedEvent | undefined> {
  const [row] = await sqlOf(em)(`select ${COLUMNS} from events where global_position = ?`, [position]);
  return row ? toRecorded(row) : undefined;
}

// Events recorded within a time range, by position, for replays of the past (not a live feed: an event still
// committing may be missed, which a replay of a range that has ended does not mind).
export async function readTimeRange(
  em: EntityManager,
  range: { since: Date; until: Date },
  afterPosition: number,
  limit: number,
  filter: FeedFilter = {},
): Promise<RecordedEvent[]> {
  const { sql, params } = filterSql(filter);
  const rows = await sqlOf(em)(
    `select ${COLUMNS} from events where recorded_at >= ? and recorded_at <= ? and global_position > ?${sql} order by global_position limit ?`,
    [range.since.toISOString(), range.until.toISOString(), afterPosition, ...params, limit],
  );
  return rows.map(toRecorded);
}

export interface FeedFilter {
  tenantId?: number;
  deviceId?: number;
  // A bound credential's devices: events of any other device (or of none) are left out.
  deviceIds?: readonly number[];
  sessionId?: string;
  // Exact types, or prefixes written `message.*`.
  types?: string[];
  // For clients: the worker's internal events (INTERNAL_EVENT_TYPES) left out.
  clientVisible?: boolean;
}

function filterSql(filter: FeedFilter): { sql: string; params: unknown[] } {
  const clauses: [string, ...unknown[]][] = [];
  if (filter.tenantId !== undefined) clauses.push(['tenant_id = ?', filter.tenantId]);
  if (filter.deviceId !== undefined) clauses.push(['device_id = ?', filter.deviceId]);
  if (filter.deviceIds !== undefined) clauses.push(filter.deviceIds.length ? ['device_id in (?)', [...filter.deviceIds]] : ['false']);
  if (filter.sessionId !== undefined) clauses.push(['session_id = ?', filter.sessionId]);
  if (filter.clientVisible) clauses.push(['type not in (?)', [...INTERNAL_EVENT_TYPES]]);
  if (filter.types?.length) {
    // Arrays bound to `?` expand to one parameter per element, hence `in (?)` and `array[?]`.
    const exact = filter.types.filter((t) => !t.endsWith('*'));
    const prefixes = filter.types.filter((t) => t.endsWith('*')).map((t) => `${t.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`);
    const alternatives: [string, ...unknown[]][] = [];
    if (exact.length) alternatives.push(['type in (?)', exact]);
    if (prefixes.length) alternatives.push(['type like any(array[?])', prefixes]);
    clauses.push([`(${alternatives.map(([c]) => c).join(' or ')})`, ...alternatives.flatMap(([, ...p]) => p)]);
  }
  return { sql: clauses.map(([c]) => ` and ${c}`).join(''), params: clauses.flatMap(([, ...p]) => p) };
}

// The next events of the global feed after `after`, in the feed's order. Only transactions older than every
// running one are read: what is returned can never be overtaken by a late commit.
// `until` bounds the read from above (inclusive), for readers catching up to a known point.
export async function readFeed(
  em: EntityManager,
  after: Checkpoint,
  limit: number,
  filter: FeedFilter = {},
  until?: Checkpoint,
): Promise<RecordedEvent[]> {
  const { sql, params } = filterSql(filter);
  const upTo = until ? ' and (transaction_id, global_position) <= (?::xid8, ?)' : '';
  const rows = await sqlOf(em)(
    `select ${COLUMNS} from events
     where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       and (transaction_id, global_position) > (?::xid8, ?)${upTo}${sql}
     order by transaction_id, global_position limit ?`,
    [after.transactionId, after.position, ...(until ? [until.transactionId, until.position] : []), ...params, limit],
  );
  return rows.map(toRecorded);
}

export function compareCheckpoints(a: Checkpoint, b: Checkpoint): number {
  const [ta, tb] = [BigInt(a.transactionId), BigInt(b.transactionId)];
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.position - b.position;
}

export function checkpointAt(event: RecordedEvent): Checkpoint {
  return { transactionId: event.transactionId, position: event.position };
}

// The same filter, applied in memory to events a live reader already holds.
export function matchesFilter(filter: FeedFilter, event: RecordedEvent): boolean {
  const { metadata } = event;
  if (filter.tenantId !== undefined && metadata.tenantId !== filter.tenantId) return false;
  if (filter.deviceId !== undefined && metadata.deviceId !== filter.deviceId) return false;
  if (filter.deviceIds !== undefined && (metadata.deviceId == null || !filter.deviceIds.includes(metadata.deviceId))) return false;
  if (filter.sessionId !== undefined && metadata.sessionId !== filter.sessionId) return false;
  if (filter.clientVisible && isInternalEvent(event.type)) return false;
  if (filter.types?.length && !filter.types.some((t) => (t.endsWith('*') ? event.type.startsWith(t.slice(0, -1)) : t === event.type))) {
    return false;
  }
  return true;
}

// The feed position of a known event (clients resume by position alone: SSE ids, `?after=`).
export async function checkpointOf(em: EntityManager, position: number): Promise<Checkpoint | undefined> {
  if (position <= 0) return START;
  const [row] = await sqlOf(em)('select transaction_id::text from events where global_position = ?', [position]);
  return row ? { transactionId: String(row.transaction_id), position } : undefined;
}

// Where the feed ends now: a reader starting here sees only what is appended from now on.
export async function headOfFeed(em: EntityManager): Promise<Checkpoint> {
  const [row] = await sqlOf(em)(
    `select transaction_id::text, global_position from events
     where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
     order by transaction_id desc, global_position desc limit 1`,
  );
  return row ? { transactionId: String(row.transaction_id), position: Number(row.global_position) } : START;
}
