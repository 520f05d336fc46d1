import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../logger.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { readFeed, sqlOf, START, type Checkpoint } from '../event-store.ts';
import type { AppendNotifier } from '../notifier.ts';
import { handlesType, type Projection } from './projection.ts';

const BATCH = 500;
// Catches what a lost notification would have announced.
const POLL_MS = 1000;
// A notification is followed by others when appends come in quick succession: waiting this long before reading
// lets one batch take them together (each batch costs every projection a transaction of its own).
const COALESCE_MS = 5;

// One batch for one projection, in one transaction: read the feed after the checkpoint, apply what the
// projection handles, move the checkpoint. A transaction-scoped advisory lock keeps other processes off the
// same projection meanwhile (and takes no transaction id, so it does not hold back readers of the feed).
// Returns how many events were read; 0 when caught up or when another process holds the projection.
export async function runBatch(orm: Orm, projection: Projection, batch = BATCH): Promise<number> {
  return orm.em.fork().transactional(async (em) => {
    const sql = sqlOf(em);
    const [lock] = await sql('select pg_try_advisory_xact_lock(hashtext(?)) as locked', [lockName(projection)]);
    if (!lock?.locked) return 0;
    const [row] = await sql('select transaction_id::text, global_position from projection_checkpoints where name = ?', [projection.name]);
    if (!row) await sql('insert into projection_checkpoints (name) values (?)', [projection.name]);
    const checkpoint: Checkpoint = row ? { transactionId: String(row.transaction_id), position: Number(row.global_position) } : START;
    const events = await readFeed(em as EntityManager, checkpoint, batch);
    if (!events.length) return 0;
    const handled = events.filter((e) => handlesType(projection, e.type));
    if (handled.length) await projection.apply(sql, handled, em as EntityManager);
    const last = events.at(-1)!;
    await sql('update projection_checkpoints set transaction_id = ?::xid8, global_position = ?, updated_at = now() where name = ?', [
      last.transactionId,
      last.position,
      projection.name,
    ]);
    return events.length;
  });
}

const lockName = (projection: Projection) => `projection:${projection.name}`;

// One batch for all the projections of a process, in one transaction: one statement takes their locks and reads
// their checkpoints, one read of the feed serves every projection standing at the same checkpoint (all of them,
// but for one catching up), one statement moves the checkpoints. Per notification that is a handful of statements
// instead of six per projection. The price is that the projections fail together: a batch that throws is rolled back
// whole, and then each projection runs its own batch (`runBatch`), so one failing projection holds back only itself.
// Returns the most events any projection read (BATCH: there is more).
export async function runGroupBatch(orm: Orm, group: Projection[], batch = BATCH): Promise<number> {
  return orm.em.fork().transactional(async (em) => {
    const sql = sqlOf(em);
    const rows = await sql(
      `select n.name, pg_try_advisory_xact_lock(hashtext('projection:' || n.name)) as locked, c.name is not null as known,
              c.transaction_id::text, c.global_position
         from jsonb_array_elements_text(?::jsonb) with ordinality as n(name, i) left join projection_checkpoints c on c.name = n.name order by n.i`,
      [JSON.stringify(group.map((p) => p.name))],
    );
    const unknown = rows.filter((r) => r.locked && !r.known).map((r) => String(r.name));
    if (unknown.length) await sql('insert into projection_checkpoints (name) select jsonb_array_elements_text(?::jsonb) on conflict (name) do nothing', [JSON.stringify(unknown)]);
    const standing = new Map<string, { checkpoint: Checkpoint; projections: Projection[] }>();
    group.forEach((projection, i) => {
      const row = rows[i]!;
      if (!row.locked) return;
      const checkpoint: Checkpoint = row.known ? { transactionId: String(row.transaction_id), position: Number(row.global_position) } : START;
      const key = `${checkpoint.transactionId}:${checkpoint.position}`;
      if (!standing.has(key)) standing.set(key, { checkpoint, projections: [] });
      standing.get(key)!.projections.push(projection);
    });
    let most = 0;
    const moved: { name: string; last: Checkpoint }[] = [];
    for (const { checkpoint, projections } of standing.values()) {
      const events = await readFeed(em as EntityManager, checkpoint, batch);
      if (!events.length) continue;
      most = Math.max(most, events.length);
      for (const projection of projections) {
        const handled = events.filter((e) => handlesType(projection, e.type));
        if (handled.length) await projection.apply(sql, handled, em as EntityManager);
        moved.push({ name: projection.name, last: events.at(-1)! });
      }
    }
    if (moved.length) {
      await sql(
        `update projection_checkpoints c set transaction_id = v.transaction_id::xid8, global_position = v.position, updated_at = now()
           from jsonb_to_recordset(?::jsonb) as v(name text, transaction_id text, position bigint) where c.name = v.name`,
        [JSON.stringify(moved.map(({ name, last }) => ({ name, transaction_id: last.transactionId, position: last.position })))],
      );
    }
    return most;
  });
}

// Brings a projection up to the end of the feed.
export async function catchUp(orm: Orm, projection: Projection): Promise<void> {
  while ((await runBatch(orm, projection)) > 0);
}

// Empties a projection's read model and checkpoint in one transaction; the next batches rebuild it from zero.
export async function resetProjection(orm: Orm, projection: Projection): Promise<void> {
  await orm.em.fork().transactional(async (em) => {
    const sql = sqlOf(em);
    await sql('select pg_advisory_xact_lock(hashtext(?))', [lockName(projection)]);
    await projection.reset(sql);
    await sql('delete from projection_checkpoints where name = ?', [projection.name]);
  });
}

export interface ProjectionRunner {
  // Resolves once the runner is through a burst (batches read full, one after another), at once when it is in none.
  idle(): Promise<void>;
  close(): Promise<void>;
}

// Keeps every projection up to date in this process: woken by appends, polling as a fallback, the projections
// together in one batch (runGroupBatch). A projection whose batch fails runs alone (with its own retries, as it
// would with no group) until it has caught up, so it holds back nobody else. Several worker processes may run
// this; the advisory locks let one at a time work on a projection. `after`: a runner that goes first in this process
// through a burst (a campaign's 10,000 events): this one starts no batch while that one reads full batch after full
// batch, and otherwise runs beside it, so views follow ordinary traffic as closely as ever.
export function startProjections(orm: Orm, projections: Projection[], notifier: AppendNotifier, logger: Logger, after?: ProjectionRunner): ProjectionRunner {
  let stopped = false;
  let bursting = false;
  const idlers: (() => void)[] = [];
  const rest = () => {
    bursting = false;
    for (const idle of idlers.splice(0)) idle();
  };
  let wake: (() => void) | undefined;
  let pending = true;
  let woken = false;
  const alone = new Set<Projection>();
  const unsubscribe = notifier.subscribe(() => {
    pending = true;
    woken = true;
    wake?.();
  });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  // Each projection's own batch; true when one read a full batch (there is more). One that fails stays alone and
  // is tried again a poll interval later.
  let retryAloneAt = 0;
  const runAlone = async (which: Iterable<Projection>): Promise<boolean> => {
    let more = false;
    for (const projection of which) {
      try {
        const read = await runBatch(orm, projection);
        if (read === BATCH) more = true;
        else alone.delete(projection);
      } catch (err) {
        logger.error({ err, projection: projection.name }, 'projection batch failed; retrying');
        alone.add(projection);
        retryAloneAt = Date.now() + POLL_MS;
      }
    }
    return more;
  };

  const loop = (async () => {
    while (!stopped) {
      if (pending) {
        pending = false;
        if (woken) await sleep(COALESCE_MS);
        woken = false;
        await after?.idle();
        const together = projections.filter((p) => !alone.has(p));
        try {
          if (together.length && (await runGroupBatch(orm, together)) === BATCH) pending = bursting = true;
          else rest();
        } catch (err) {
          logger.warn({ err }, 'a batch of the projections together failed; each runs alone');
          if (await runAlone(together)) pending = true;
        }
        if (alone.size && Date.now() >= retryAloneAt && (await runAlone([...alone]))) pending = true;
        continue;
      }
      rest();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      pending = true;
    }
    unsubscribe();
  })();
  return {
    idle: () => (bursting && !stopped ? new Promise<void>((resolve) => idlers.push(resolve)) : Promise.resolve()),
    async close() {
      stopped = true;
      wake?.();
      await loop;
      rest();
    },
  };
}
