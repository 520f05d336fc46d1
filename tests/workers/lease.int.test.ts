import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Coordination } from '../../src/coordination/coordination.ts';
import { acquireLease } from '../../src/workers/sessions/lease.ts';
import { openTestCoordination, type Instance } from '../helpers/coordination.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { createTestResources, TEST_BACKENDS } from '../helpers/resources.ts';

// Session leases over the suite's coordination store (Redis, or PostgreSQL with TEST_BACKENDS=postgres), two
// connections standing for two worker processes. The store's own guarantees are tests/coordination's.
const resources = createTestResources();
let database: Awaited<ReturnType<typeof openTestDatabase>> | undefined;
let a: Instance;
let b: Instance;
before(async () => {
  if (TEST_BACKENDS !== 'redis') database = await openTestDatabase(resources);
  [a, b] = await Promise.all([openTestCoordination(resources), openTestCoordination(resources)]);
});
after(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await database?.close();
  await resources.cleanup();
});
const options = (coordination: Coordination, owner: string, ttlMs = 600) => ({ coordination, owner, ttlMs });

test('one holder at a time; the next holder gets a larger fencing token', async () => {
  const first = await acquireLease('device-1', options(a.coordination, 'worker-a'));
  assert.ok(first);
  assert.equal(await acquireLease('device-1', options(b.coordination, 'worker-b')), undefined);
  await first.release();
  assert.equal(await first.lost, 'released');
  const second = await acquireLease('device-1', options(b.coordination, 'worker-b'));
  assert.ok(second && second.token > first.token);
  await second.release();
});

test("a new token is above the device's recorded fence, whatever the store's counter says", async () => {
  const lease = await acquireLease('device-5', { ...options(a.coordination, 'worker-a'), above: 5000 });
  assert.ok(lease && lease.token > 5000);
  await lease.release();
});

test('a holder keeps its lease by renewing it well past the TTL', async () => {
  const lease = await acquireLease('device-2', options(a.coordination, 'worker-a', 300));
  assert.ok(lease);
  const outcome = await Promise.race([lease.lost, new Promise((resolve) => setTimeout(() => resolve('held'), 1000))]);
  assert.equal(outcome, 'held');
  assert.equal(await acquireLease('device-2', options(b.coordination, 'worker-b', 300)), undefined);
  await lease.release();
});

test('a holder that cannot reach the store gives the lease up before it lapses there', async () => {
  // Renewals fail as they would with the store out of reach; everything else goes through.
  const unreachable: Coordination = Object.create(a.coordination, {
    renewLease: { value: () => Promise.reject(new Error('connection lost')) },
  });
  const lease = await acquireLease('device-4', options(unreachable, 'worker-a', 600));
  assert.ok(lease);
  assert.equal(await lease.lost, 'lost');
  assert.deepEqual(await b.coordination.leaseHolder('device-4'), { owner: 'worker-a', token: lease.token }, 'still live in the store when the holder gave up');
  assert.equal(await acquireLease('device-4', options(b.coordination, 'worker-b')), undefined);
});
