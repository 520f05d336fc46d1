import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openOrm } from '../../src/db/orm.ts';
import { sqlOf } from '../../src/events/event-store.ts';
import { createTestResources } from '../helpers/resources.ts';

// A database restart or failover kills connections in the middle of transactions. kysely 0.29.6 (the version
// MikroORM 7.2.1 pins) then never returned the connection to the pool: every such death cost a pooled
// connection for good, and closing the ORM hung. package.json overrides it with 0.29.9, which releases it.
test('connections killed inside transactions return to the pool, and the ORM still closes', { timeout: 60_000 }, async () => {
  const resources = createTestResources();
  const orm = await openOrm(resources.databaseUrl);
  try {
    for (let i = 0; i < 12; i++) {
      await assert.rejects(
        orm.em.fork().transactional(async (em) => {
          await sqlOf(em)('select pg_terminate_backend(pg_backend_pid())');
        }),
      );
    }
    const [row] = await sqlOf(orm.em.fork())('select 1 as alive');
    assert.equal(row?.alive, 1, 'more deaths than the pool has connections, and a query still gets one');
  } finally {
    await orm.close();
    await resources.cleanup();
  }
});
