import { after, before } from 'node:test';
import { openOrm, type Orm } from '../../src/db/orm.ts';
import { migrate } from '../../src/db/schema.ts';
import { sqlOf } from '../../src/events/event-store.ts';
import type { Projection } from '../../src/events/projections/projection.ts';
import { catchUp } from '../../src/events/projections/runner.ts';
import { createTestResources, type TestResources } from './resources.ts';

// A migrated database of its own, for tests of the persistence layer that need no HTTP app; or the migrated database
// of resources the caller owns (and cleans up).
export async function openTestDatabase(given?: TestResources): Promise<{ orm: Orm; close(): Promise<void> }> {
  const resources = given ?? createTestResources();
  const orm = await openOrm(resources.databaseUrl);
  await migrate(orm);
  return {
    orm,
    close: async () => {
      await orm.close();
      if (!given) await resources.cleanup();
    },
  };
}

// Registers the file's before/after hooks; `orm` is ready inside tests. Root-level `before` hooks may run
// concurrently, so a file's own setup that needs the database goes in `setup`.
export function useTestDatabase(setup?: (orm: Orm) => Promise<void>): { readonly orm: Orm; readonly url: string } {
  let db: Awaited<ReturnType<typeof openTestDatabase>> | undefined;
  before(async () => {
    db = await openTestDatabase();
    await setup?.(db.orm);
  });
  after(() => db?.close());
  return {
    get orm() {
      return db!.orm;
    },
    get url() {
      return db!.orm.config.get('clientUrl')!;
    },
  };
}

// Brings a projection to the end of the log as it stands now. A transaction running elsewhere (autovacuum's
// analyze, say) can hold back the feed for a moment, so one pass may stop short: pass until the checkpoint
// reaches the last event.
export async function settleProjection(orm: Orm, projection: Projection): Promise<void> {
  const sql = sqlOf(orm.em.fork());
  const [{ last } = { last: 0 }] = await sql('select coalesce(max(global_position), 0) as last from events');
  for (;;) {
    await catchUp(orm, projection);
    const [row] = await sql('select global_position from projection_checkpoints where name = ?', [projection.name]);
    if (Number(row?.global_position ?? 0) >= Number(last)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// A user with one device, inserted directly (for tests below the HTTP API).
export async function insertDevice(orm: Orm, alias = 'phone'): Promise<{ userId: number; deviceId: number }> {
  const sql = sqlOf(orm.em.fork());
  const [user] = await sql(`insert into users (username, password_hash, role, created_at) values (?, 'x', 'user', now()) returning id`, [`owner-${alias}`]);
  const userId = Number(user!.id);
  const [device] = await sql(`insert into devices (user_id, alias, session_id, created_at) values (?, ?, ?, now()) returning id`, [
    userId,
    alias,
    `user_${userId}_device_${alias}`,
  ]);
  return { userId, deviceId: Number(device!.id) };
}
