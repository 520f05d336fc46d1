import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCacheInvalidation, InvalidatedCache, type CacheInvalidation } from '../../src/coordination/cache-invalidation.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { openTestCoordination, type CoordinationKind, type Instance } from '../helpers/coordination.ts';
import { createTestResources, type TestResources } from '../helpers/resources.ts';
import { until } from '../helpers/wait.ts';

// Process-local caches emptied everywhere by an announcement (src/coordination/cache-invalidation.ts), on both
// coordination stores, two instances standing for two processes. The stalled process is in
// tests/auth/revocation-processes.e2e.test.ts (a SIGSTOPped API process).

const trusted = (invalidation: CacheInvalidation, what: string) =>
  until(() => invalidation.generation(), `${what} to trust its caches`, 10_000);

for (const kind of ['redis', 'postgres'] as const satisfies CoordinationKind[]) {
  describe(`cache invalidation on ${kind}`, () => {
    const resources: TestResources = createTestResources('cacheinv');
    let database: Awaited<ReturnType<typeof openTestDatabase>> | undefined;
    let a: Instance;
    let b: Instance;
    let inA: CacheInvalidation;
    let inB: CacheInvalidation;

    before(async () => {
      if (kind === 'postgres') database = await openTestDatabase(resources);
      [a, b] = await Promise.all([openTestCoordination(resources, kind), openTestCoordination(resources, kind)]);
      [inA, inB] = await Promise.all([createCacheInvalidation(a.coordination), createCacheInvalidation(b.coordination)]);
    });
    after(async () => {
      await Promise.all([inA?.close(), inB?.close()]);
      await Promise.all([a?.close(), b?.close()]);
      await database?.close();
      await resources.cleanup();
    });

    test('an announcement has emptied the other process’s caches by the time it resolves', async () => {
      await trusted(inA, 'a');
      const before = await trusted(inB, 'b');
      const ownBefore = inA.generation();
      await inA.announce();
      assert.notEqual(inB.generation(), before, 'the other process moved on');
      assert.notEqual(inA.generation(), ownBefore, 'and so did the announcing one');
    });

    test('a cache keeps what it read, forgets it on an announcement, and keeps nothing read while one was made', async () => {
      await trusted(inB, 'b');
      const cache = new InvalidatedCache<string>(inB, { maxAgeMs: 60_000, maxEntries: 10 });
      let reads = 0;
      const read = async () => `value-${++reads}`;
      assert.equal(await cache.remember('k', read), 'value-1');
      assert.equal(await cache.remember('k', read), 'value-1', 'kept');
      await inA.announce();
      assert.equal(await cache.remember('k', read), 'value-2', 'forgotten after an announcement from elsewhere');
      // A read that an announcement overtakes may hold what was just changed: it is answered, not kept.
      assert.equal(await cache.remember('raced', async () => (await inA.announce(), read())), 'value-3');
      assert.equal(await cache.remember('raced', read), 'value-4', 'not kept');
      assert.equal(await cache.remember('raced', read, (value) => value !== 'value-4'), 'value-5', 'a value no longer good is read again');
    });

    test('a cache holds at most its number of entries, dropping the oldest', async () => {
      await trusted(inB, 'b');
      const cache = new InvalidatedCache<number>(inB, { maxAgeMs: 60_000, maxEntries: 2 });
      let reads = 0;
      for (const key of ['x', 'y', 'z']) await cache.remember(key, async () => ++reads);
      assert.equal(await cache.remember('z', async () => ++reads), 3);
      assert.equal(await cache.remember('y', async () => ++reads), 2);
      assert.equal(await cache.remember('x', async () => ++reads), 4, 'the oldest went');
    });

    test('a process whose subscription is cut stops trusting its caches until it hears itself again', async () => {
      const before = await trusted(inB, 'b');
      // On PostgreSQL this cuts a's listener too (both listen on the channel named): it is waited for below.
      await b.dropListener('cache-invalidation');
      await until(() => (inB.generation() === undefined ? true : undefined), 'b to stop trusting its caches', 10_000);
      const cache = new InvalidatedCache<number>(inB, { maxAgeMs: 60_000, maxEntries: 10 });
      let reads = 0;
      await cache.remember('k', async () => ++reads);
      await cache.remember('k', async () => ++reads);
      assert.equal(reads, 2, 'untrusted, every lookup reads');
      const after = await trusted(inB, 'b again');
      assert.notEqual(after, before, 'what it kept before the cut is forgotten');
      // Live again: announcements reach it.
      await trusted(inA, 'a');
      await inA.announce();
      assert.notEqual(inB.generation(), after);
    });
  });
}
