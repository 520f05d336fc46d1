import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { openTestDatabase } from '../helpers/database.ts';
import { createTestResources } from '../helpers/resources.ts';
import { openInstance, type Instance } from './instances.ts';

// What only the PostgreSQL implementation can get wrong, beyond the contract suite: the timing of its statements
// against its own locks.
const resources = createTestResources('coord');
let database: Awaited<ReturnType<typeof openTestDatabase>> | undefined;
let instance: Instance;
let locker: pg.Client;
before(async () => {
  database = await openTestDatabase(resources);
  instance = await openInstance('postgres', resources);
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
