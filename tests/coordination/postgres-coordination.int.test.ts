import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { openTestDatabase } from '../helpers/database.ts';
import { createPostgresCoordination } from '../../src/coordination/postgres-coordination.ts';
import { createTestResources } from '../helpers/resources.ts';
import { until } from '../helpers/wait.ts';
import { openTestCoordination, type Instance } from '../helpers/coordination.ts';

// What only the PostgreSQL implementation can get wrong, beyond the contract suite: the timing of its statements
// against its own locks, and the sweep that keeps its tables from growing.
const resources = createTestResources('coord');
let database: Awaited<ReturnType<typeof openTestDatabase>> | undefined;
let instance: Instance;
let locker: pg.Client;
before(async () => {
  database = await openTestDatabase(resources);
  instance = await openTestCoordination(resources, 'postgres');
  locker = new pg.Client({ connectionString: resources.databaseUrl });
  await locker.connect();
});
after(async () => {
  await locker?.end();
  await instance?.close();
  await database?.close();
  await resources.cleanup();
});

test("a slot request that waited for the key's lock judges lapses by the time it holds the lock", async () => {
  const { coordination } = instance;
  assert.ok(await coordination.acquireSlot('waited', 1, 200, 0));
  // Another acquirer of the same key holds its lock (as coordination_acquire_slot takes it) while the slot lapses.
  await locker.query(`select pg_advisory_lock(hashtextextended('coordination_slots:' || $1, 0))`, ['waited']);
  const waiting = coordination.acquireSlot('waited', 1, 60_000, 0);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await locker.query(`select pg_advisory_unlock(hashtextextended('coordination_slots:' || $1, 0))`, ['waited']);
  assert.ok(await waiting, 'the slot had lapsed when the lock was granted');
});

test('the sweep deletes lapsed values, counters and slots, and the subscriptions of connections that are gone', async () => {
  const pool = new pg.Pool({ connectionString: resources.databaseUrl, max: 2 });
  // pool.end() resolves before its connections have closed (see tests/helpers/coordination.ts).
  pool.on('error', () => {});
  const sweeping = await createPostgresCoordination({ pool, databaseUrl: resources.databaseUrl, sweepMs: 100 });
  try {
    await sweeping.set('swept', 'v', 50);
    await sweeping.hit('swept', 50);
    await sweeping.releaseSlot('swept', (await sweeping.acquireSlot('swept', 1, 60_000, 0))!);
    await sweeping.acquireSlot('swept-lapsing', 1, 50, 0);
    // A subscriber whose connection has ended, as a SIGKILLed process's does.
    const gone = new pg.Client({ connectionString: resources.databaseUrl });
    await gone.connect();
    await gone.query(`insert into coordination_subscriptions (channel, backend_pid, backend_start)
      select 'swept', pid, backend_start from pg_stat_activity where pid = pg_backend_pid()`);
    await gone.end();
    await sweeping.set('kept', 'v', 60_000);
    const left = async () => {
      const { rows } = await locker.query(`select
        (select count(*) from coordination_values where key = 'swept')
        + (select count(*) from coordination_counters where key = 'swept')
        + (select count(*) from coordination_slots where key like 'swept%')
        + (select count(*) from coordination_subscriptions where channel = 'swept') as n`);
      return Number(rows[0].n);
    };
    await until(async () => ((await left()) === 0 ? true : undefined), 'the sweep', 10_000);
    assert.equal(await sweeping.get('kept'), 'v');
  } finally {
    await sweeping.close();
    await pool.end();
  }
});
