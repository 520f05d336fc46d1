import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../logger.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { readFeed, sqlOf, START, type Checkpoint, type RecordedEvent } from '../event-store.ts';
import type { AppendNotifier } from '../notifier.ts';
import { handlesType, type Projection } from './projection.ts';

const BATCH = 500;
// Catches what a lost notification would have announced.
const POLL_MS = 1000;
// A notification is followed by others when appends come in quick succession: waiting this long before reading
// lets one batch take them together (each batch costs every projection a transaction of its own).
const COALESCE_MS = 5;

type FeedReader = (em: EntityManager, after: Checkpoint, limit: number) => Promise<RecordedEvent[]>;

// The projections of a process mostly stand at the same checkpoint and read the same events. A full batch (as many
// events as asked for) is exactly what any later read from that checkpoint returns — events that become visible
// later sort after everything visible now — so one read serves them all. Shorter reads are not kept: a later read
// may find more.
export function sharedFullBatches(keep = 4): FeedReader {
  const recent = new Map<string, RecordedEvent[]>();
  return async (em, after, limit) => {
    const key = `${after.transactionId}:${after.position}:${limit}`;
    const known = recent.get(key);
    if (known) return known;
    const events = await readFeed(em, after, limit);
    if (events.length === limit) {
      recent.set(key, events);
      if (recent.size > keep) recent.delete(recent.keys().next().value!);
    }
    return events;
  };
}

// One batch for one projection, in one transaction: read the feed after the checkpoint, apply what the
// projection handles, move the checkpoint. A transaction-scoped advisory lock keeps other processes off the
// same projection meanwhile (and takes no transaction id, so it does not hold back readers of the feed).
// Returns how many events were read; 0 when caught up or when another process holds the projection.
export async function runBatch(orm: Orm, projection: Projection, batch = BATCH, read: FeedReader = readFeed): Promise<number> {
  return orm.em.fork().transactional(async (em) => {
    const sql = sqlOf(em);
    const [lock] = await sql('select pg_try_advisory_xact_lock(hashtext(?)) as locked', [`projection:${projection.name}`]);
    if (!lock?.locked) return 0;
    const [row] = await sql('select transaction_id::text, global_position from projection_checkpoints where name = ?', [projection.name]);
    if (!row) await sql('insert into projection_checkpoints (name) values (?)', [projection.name]);
    const checkpoint: Checkpoint = row ? { transactionId: String(row.transaction_id), position: Number(row.global_position) } : START;
    const events = await read(em as EntityManager, checkpoint, batch);
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

// Brings a projection up to the end of the feed.
export async function catchUp(orm: Orm, projection: Projection): Promise<void> {
  while ((await runBatch(orm, projection)) > 0);
}

// Empties a projection's read model and checkpoint in one transaction; the next batches rebuild it from zero.
export async function resetProjection(orm: Orm, projection: Projection): Promise<void> {
  await orm.em.fork().transactional(async (em) => {
    const sql = sqlOf(em);
    await sql('select pg_advisory_xact_lock(hashtext(?))', [`projection:${projection.name}`]);
    await projection.reset(sql);
    await sql('delete from projection_checkpoints where name = ?', [projection.name]);
  });
}

export interface ProjectionRunner {
  close(): Promise<void>;
}

// Keeps every projection up to date in this process: woken by appends, polling as a fallback. Several worker
// processes may run it; the advisory lock lets one at a time work on a projection.
export function startProjections(orm: Orm, projections: Projection[], notifier: AppendNotifier, logger: Logger): ProjectionRunner {
  let stopped = false;
  const read = sharedFullBatches();
  const loops = projections.map((projection) => {
    let wake: (() => void) | undefined;
    let pending = true;
    let woken = false;
    const unsubscribe = notifier.subscribe(() => {
      pending = true;
      woken = true;
      wake?.();
    });
    const loop = (async () => {
      while (!stopped) {
        if (pending) {
          pending = false;
          try {
            if (woken) await new Promise((resolve) => setTimeout(resolve, COALESCE_MS));
            woken = false;
            if ((await runBatch(orm, projection, BATCH, read)) === BATCH) pending = true;
          } catch (err) {
            logger.error({ err, projection: projection.name }, 'projection batch failed; retrying');
            pending = true;
            await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          }
          continue;
        }
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
    return { loop, wakeNow: () => wake?.() };
  });
  return {
    async close() {
      stopped = true;
      for (const { wakeNow } of loops) wakeNow();
      await Promise.all(loops.map(({ loop }) => loop));
    },
  };
}
