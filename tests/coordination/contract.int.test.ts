import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { openTestDatabase } from '../helpers/database.ts';
import { createTestResources, type TestResources } from '../helpers/resources.ts';
import { until } from '../helpers/wait.ts';
import { openTestCoordination, type CoordinationKind, type Instance } from '../helpers/coordination.ts';

// The behaviour the platform relies on from its coordination store (src/coordination/coordination.ts), asked of both
// implementations alike: each against a store of its own, two instances standing for two processes.

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const many = <T>(n: number, each: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => each(i)));

for (const kind of ['redis', 'postgres'] as const satisfies CoordinationKind[]) {
  describe(`coordination on ${kind}`, () => {
    const resources: TestResources = createTestResources('coord');
    let database: Awaited<ReturnType<typeof openTestDatabase>> | undefined;
    let a: Instance;
    let b: Instance;
    let names = 0;
    // Every test its own keys and channels: nothing left by another can satisfy it.
    const fresh = (what: string) => `${what}-${++names}`;

    before(async () => {
      if (kind === 'postgres') database = await openTestDatabase(resources);
      [a, b] = await Promise.all([openTestCoordination(resources, kind), openTestCoordination(resources, kind)]);
    });
    after(async () => {
      await Promise.all([a?.close(), b?.close()]);
      await database?.close();
      await resources.cleanup();
    });

    describe('values', () => {
      test('a value lives for its ttl, seen by the other instance, and then is gone', async () => {
        const key = fresh('value');
        await a.coordination.set(key, 'v1', 200);
        assert.equal(await b.coordination.get(key), 'v1');
        const left = await b.coordination.ttl(key);
        assert.ok(left > 0 && left <= 200, `ttl ${left}`);
        await until(async () => ((await b.coordination.get(key)) === undefined ? true : undefined), 'the value to lapse', 3000);
        assert.equal(await a.coordination.ttl(key), 0);
        assert.equal(await a.coordination.take(key), undefined, 'a lapsed value is not taken');
      });

      test('set replaces the value and its ttl', async () => {
        const key = fresh('value');
        await a.coordination.set(key, 'short', 100);
        await b.coordination.set(key, 'long', 60_000);
        await pause(150);
        assert.equal(await a.coordination.get(key), 'long');
        assert.ok((await a.coordination.ttl(key)) > 50_000);
      });

      test('of many callers of setIfAbsent at once, exactly one sets; after the ttl, the key is free again', async () => {
        const key = fresh('once');
        const outcomes = await many(20, (i) => (i % 2 ? a : b).coordination.setIfAbsent(key, `caller-${i}`, 300));
        assert.equal(outcomes.filter(Boolean).length, 1);
        assert.equal(await a.coordination.get(key), `caller-${outcomes.indexOf(true)}`);
        assert.equal(await b.coordination.setIfAbsent(key, 'later', 300), false);
        await until(async () => ((await b.coordination.setIfAbsent(key, 'after', 300)) ? true : undefined), 'the key to be free', 3000);
        assert.equal(await a.coordination.get(key), 'after');
      });

      test('of many takers at once, exactly one gets the value, and it is gone', async () => {
        const key = fresh('take');
        await a.coordination.set(key, 'the-one', 60_000);
        const taken = await many(20, (i) => (i % 2 ? a : b).coordination.take(key));
        assert.deepEqual(
          taken.filter((value) => value !== undefined),
          ['the-one'],
        );
        assert.equal(await a.coordination.get(key), undefined);
        assert.equal(await b.coordination.take(key), undefined);
      });

      test('delete removes a value and a set; ttl is 0 for a missing key', async () => {
        const value = fresh('value');
        const set = fresh('set');
        await a.coordination.set(value, 'x', 60_000);
        await a.coordination.addToSet(set, 'm');
        await b.coordination.delete(value);
        await b.coordination.delete(set);
        assert.equal(await a.coordination.get(value), undefined);
        assert.equal(await a.coordination.ttl(value), 0);
        assert.deepEqual(await a.coordination.members(set), []);
        await b.coordination.delete(fresh('missing'));
      });
    });

    test('a set holds each member once, for every instance, until deleted', async () => {
      const set = fresh('set');
      assert.deepEqual(await a.coordination.members(set), []);
      await many(10, (i) => (i % 2 ? a : b).coordination.addToSet(set, `member-${i % 3}`));
      assert.deepEqual((await b.coordination.members(set)).sort(), ['member-0', 'member-1', 'member-2']);
    });

    describe('hit', () => {
      test('counts the hits of a window across instances, with the time left in it, then starts a new window', async () => {
        const key = fresh('window');
        const first = await a.coordination.hit(key, 300);
        assert.equal(first.count, 1);
        assert.ok(first.ttlMs > 0 && first.ttlMs <= 300, `ttlMs ${first.ttlMs}`);
        const second = await b.coordination.hit(key, 300);
        assert.equal(second.count, 2);
        assert.ok(second.ttlMs > 0 && second.ttlMs <= first.ttlMs, 'the window ends when it ends, not later for later hits');
        await until(async () => ((await a.coordination.hit(key, 300)).count === 1 ? true : undefined), 'a new window', 3000);
        assert.equal((await b.coordination.hit(key, 300)).count, 2);
      });

      test('hits at once are each counted once', async () => {
        const key = fresh('window');
        const counts = await many(30, (i) => (i % 2 ? a : b).coordination.hit(key, 60_000));
        assert.deepEqual(
          counts.map(({ count }) => count).sort((x, y) => x - y),
          Array.from({ length: 30 }, (_, i) => i + 1),
        );
      });
    });

    describe('leases', () => {
      test('a lease is exclusive between instances, and leaseHolder names its holder', async () => {
        const name = fresh('lease');
        const tokens = await many(10, (i) => (i % 2 ? a : b).coordination.acquireLease(name, `owner-${i}`, 60_000));
        const granted = tokens.filter((token) => token !== undefined);
        assert.equal(granted.length, 1);
        assert.deepEqual(await a.coordination.leaseHolder(name), { owner: `owner-${tokens.findIndex((t) => t !== undefined)}`, token: granted[0] });
        assert.equal(await b.coordination.leaseHolder(fresh('lease')), undefined);
      });

      test('renewing keeps a lease past its ttl; once renewals stop it lapses, and the next holder gets a larger token', async () => {
        const name = fresh('lease');
        const first = await a.coordination.acquireLease(name, 'worker-a', 200);
        assert.ok(first !== undefined);
        for (let i = 0; i < 5; i++) {
          await pause(80);
          assert.equal(await a.coordination.renewLease(name, 'worker-a', first, 200), true, `renewal ${i}`);
        }
        assert.equal(await b.coordination.acquireLease(name, 'worker-b', 200), undefined, 'still held after twice its ttl');
        const second = await until(() => b.coordination.acquireLease(name, 'worker-b', 60_000), 'the lease to lapse', 3000);
        assert.ok(second > first, `token ${second} after ${first}`);
        assert.equal(await a.coordination.renewLease(name, 'worker-a', first, 60_000), false, 'the stale holder cannot renew');
        await a.coordination.releaseLease(name, 'worker-a', first);
        assert.deepEqual(await a.coordination.leaseHolder(name), { owner: 'worker-b', token: second }, 'nor release it');
      });

      test('only the holder releases (owner and token); the token keeps growing across release and reacquisition', async () => {
        const name = fresh('lease');
        const first = await a.coordination.acquireLease(name, 'worker-a', 60_000);
        assert.ok(first !== undefined);
        await b.coordination.releaseLease(name, 'worker-b', first);
        await b.coordination.releaseLease(name, 'worker-a', first + 1);
        assert.equal(await b.coordination.renewLease(name, 'worker-b', first, 60_000), false);
        assert.deepEqual(await b.coordination.leaseHolder(name), { owner: 'worker-a', token: first });
        await a.coordination.releaseLease(name, 'worker-a', first);
        assert.equal(await b.coordination.leaseHolder(name), undefined);
        assert.equal(await a.coordination.renewLease(name, 'worker-a', first, 60_000), false, 'a released lease is not renewed');
        const second = await b.coordination.acquireLease(name, 'worker-b', 60_000);
        assert.ok(second !== undefined && second > first);
        await b.coordination.releaseLease(name, 'worker-b', second);
        const third = await a.coordination.acquireLease(name, 'worker-a', 60_000);
        assert.ok(third !== undefined && third > second);
      });

      test('a token is above the fence given, and keeps growing from there', async () => {
        const name = fresh('lease');
        const first = await a.coordination.acquireLease(name, 'worker-a', 60_000, 5000);
        assert.ok(first !== undefined && first > 5000);
        await a.coordination.releaseLease(name, 'worker-a', first);
        const second = await b.coordination.acquireLease(name, 'worker-b', 60_000, 10);
        assert.ok(second !== undefined && second > first);
      });
    });

    describe('slots', () => {
      test('at most max holders across instances; a released slot is free at once, an unreleased one after its lease', async () => {
        const key = fresh('slots');
        const tokens = await many(12, (i) => (i % 2 ? a : b).coordination.acquireSlot(key, 3, 300, 0));
        const granted = tokens.filter((token) => token !== undefined);
        assert.equal(granted.length, 3);
        assert.equal(new Set(granted).size, 3);
        assert.equal(await a.coordination.acquireSlot(key, 3, 300, 0), undefined);
        await b.coordination.releaseSlot(key, granted[0]!);
        const replacement = await a.coordination.acquireSlot(key, 3, 300, 0);
        assert.ok(replacement !== undefined, 'the released slot is free');
        assert.equal(await b.coordination.acquireSlot(key, 3, 300, 0), undefined);
        const lapsed = await many(3, () => until(() => b.coordination.acquireSlot(key, 3, 60_000, 0), 'slots to lapse', 3000));
        assert.equal(new Set(lapsed).size, 3);
        assert.equal(await a.coordination.acquireSlot(key, 3, 60_000, 0), undefined);
      });

      test('at most perSecond grants in a second, even with slots free', async () => {
        const key = fresh('slots');
        // A burst early in a second stays inside it.
        await until(() => (Date.now() % 1000 < 300 ? true : undefined), 'the start of a second', 3000);
        const burst = await many(10, (i) => (i % 2 ? a : b).coordination.acquireSlot(key, 100, 60_000, 3));
        assert.equal(burst.filter((token) => token !== undefined).length, 3);
        assert.ok(await until(() => a.coordination.acquireSlot(key, 100, 60_000, 3), 'the next second', 3000));
      });
    });

    describe('publish and subscribe', () => {
      const inbox = () => {
        const received: string[] = [];
        return { received, onMessage: (message: string) => received.push(message) };
      };
      const arrived = (box: { received: string[] }, n: number, what: string) =>
        until(() => (box.received.length >= n ? box.received : undefined), what, 10_000);

      test('publish counts the subscriptions live to receive it: 0, 1, 2', async () => {
        const channel = fresh('channel');
        assert.equal(await a.coordination.publish(channel, 'nobody'), 0);
        const inA = inbox();
        const subA = await a.coordination.subscribe(channel, inA.onMessage);
        assert.equal(await b.coordination.publish(channel, 'one'), 1);
        const inB = inbox();
        const subB = await b.coordination.subscribe(channel, inB.onMessage);
        assert.equal(await a.coordination.publish(channel, 'two'), 2);
        assert.deepEqual(await arrived(inA, 2, 'both messages in a'), ['one', 'two']);
        assert.deepEqual(await arrived(inB, 1, 'the second message in b'), ['two']);
        await Promise.all([subA.close(), subB.close()]);
        assert.equal(await a.coordination.publish(channel, 'gone'), 0);
      });

      test('large messages arrive whole, around the 8,000 bytes of a NOTIFY and far beyond', async () => {
        const channel = fresh('channel');
        const box = inbox();
        const subscription = await a.coordination.subscribe(channel, box.onMessage);
        const messages = [7999, 8000, 8001].map((n) => 'x'.repeat(n)).concat(['é'.repeat(4500), `{"groups":${JSON.stringify('g€'.repeat(100_000))}}`]);
        for (const message of messages) assert.equal(await b.coordination.publish(channel, message), 1);
        assert.deepEqual(await arrived(box, messages.length, 'the large messages'), messages);
        await subscription.close();
      });

      test('200 messages published at once arrive in publish order, large ones among them', async () => {
        const channel = fresh('channel');
        const box = inbox();
        const subscription = await a.coordination.subscribe(channel, box.onMessage);
        const messages = Array.from({ length: 200 }, (_, i) => (i % 50 === 7 ? `${i}:${'L'.repeat(10_000)}` : `${i}`));
        const counts = await Promise.all(messages.map((message) => b.coordination.publish(channel, message)));
        assert.ok(counts.every((n) => n === 1));
        const received = await arrived(box, 200, 'all 200 messages');
        // Compared by number (a failure's diff of 10 KB messages is unreadable), then whole.
        assert.deepEqual(
          received.map((message) => message.split(':')[0]),
          messages.map((message) => message.split(':')[0]),
        );
        assert.ok(received.every((message, i) => message === messages[i]));
        await subscription.close();
      });

      test('a closed subscription receives nothing more, and is no longer counted', async () => {
        const channel = fresh('channel');
        const closing = inbox();
        const staying = inbox();
        const first = await a.coordination.subscribe(channel, closing.onMessage);
        const second = await a.coordination.subscribe(channel, staying.onMessage);
        await b.coordination.publish(channel, 'both');
        await arrived(staying, 1, 'the first message');
        await arrived(closing, 1, 'the first message in the other handler');
        await first.close();
        await b.coordination.publish(channel, 'one');
        assert.deepEqual(await arrived(staying, 2, 'the second message'), ['both', 'one']);
        assert.deepEqual(closing.received, ['both']);
        await second.close();
        assert.equal(await b.coordination.publish(channel, 'none'), 0);
        // A closed channel subscribed again is live again.
        const again = await a.coordination.subscribe(channel, closing.onMessage);
        assert.equal(await b.coordination.publish(channel, 'again'), 1);
        assert.deepEqual(await arrived(closing, 2, 'the message after subscribing again'), ['both', 'again']);
        await again.close();
      });

      test('a SIGKILLed subscriber is counted 0 at once, without any heartbeat', async () => {
        const channel = fresh('channel');
        const child = spawn(process.execPath, ['tests/coordination/subscriber-process.ts', kind, resources.databaseUrl, resources.redisPrefix, channel], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        try {
          let output = '';
          child.stdout.on('data', (chunk) => (output += chunk));
          await until(() => (output.includes('subscribed') ? true : undefined), 'the child to subscribe', 30_000);
          assert.equal(await a.coordination.publish(channel, 'alive?'), 1);
        } finally {
          child.kill('SIGKILL');
        }
        await once(child, 'exit');
        await until(async () => ((await a.coordination.publish(channel, 'anyone?')) === 0 ? true : undefined), 'the dead subscriber to count 0', 2000);
      });

      test('an instance whose listening connection is cut tells its subscriptions, reconnects and receives again', async () => {
        const channel = fresh('channel');
        const box = inbox();
        let interruptions = 0;
        const subscription = await a.coordination.subscribe(channel, box.onMessage, () => interruptions++);
        assert.equal(interruptions, 0);
        await a.dropListener(channel);
        await until(() => (interruptions ? true : undefined), 'the subscription to hear of the interruption', 10_000);
        let sent = 0;
        await until(
          async () => {
            const receivers = await b.coordination.publish(channel, `after-${++sent}`);
            return receivers === 1 && box.received.length ? true : undefined;
          },
          'messages to arrive again',
          15_000,
        );
        assert.match(box.received[0]!, /^after-\d+$/);
        await subscription.close();
        assert.equal(await b.coordination.publish(channel, 'closed'), 0);
      });
    });

    test('ping answers', async () => {
      await a.coordination.ping();
    });
  });
}
