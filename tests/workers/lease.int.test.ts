import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { acquireLease } from '../../src/workers/sessions/lease.ts';
import { createTestResources, REDIS_URL } from '../helpers/resources.ts';

const resources = createTestResources();
const redis = new Redis(REDIS_URL);
after(async () => {
  redis.disconnect();
  await resources.cleanup();
});
const options = (owner: string, ttlMs = 600) => ({ redis, prefix: resources.redisPrefix, owner, ttlMs });

test('one holder at a time; the next holder gets a larger fencing token', async () => {
  const first = await acquireLease('device-1', options('worker-a'));
  assert.ok(first);
  assert.equal(await acquireLease('device-1', options('worker-b')), undefined);
  await first.release();
  assert.equal(await first.lost, 'released');
  const second = await acquireLease('device-1', options('worker-b'));
  assert.ok(second && second.token > first.token);
  await second.release();
});

test('a holder keeps its lease by renewing it well past the TTL', async () => {
  const lease = await acquireLease('device-2', options('worker-a', 300));
  assert.ok(lease);
  const outcome = await Promise.race([lease.lost, new Promise((resolve) => setTimeout(() => resolve('held'), 1000))]);
  assert.equal(outcome, 'held');
  assert.equal(await acquireLease('device-2', options('worker-b', 300)), undefined);
  await lease.release();
});

test('a holder whose lease was taken from it learns so before the new holder could act', async () => {
  const lease = await acquireLease('device-3', options('worker-a', 300));
  assert.ok(lease);
  // Another process overwrites the lease (as after an expiry during a partition).
  await redis.set(`${resources.redisPrefix}:lease:device-3`, 'worker-b:999', 'PX', 300);
  assert.equal(await lease.lost, 'lost');
});

test('a holder that cannot reach Redis gives the lease up before it expires there', async () => {
  const isolated = new Redis(REDIS_URL, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  await new Promise((resolve) => isolated.once('ready', resolve));
  const lease = await acquireLease('device-4', { redis: isolated, prefix: resources.redisPrefix, owner: 'worker-a', ttlMs: 600 });
  assert.ok(lease);
  const started = Date.now();
  isolated.disconnect();
  assert.equal(await lease.lost, 'lost');
  const ttlLeft = await redis.pttl(`${resources.redisPrefix}:lease:device-4`);
  assert.ok(ttlLeft > 0, `gave up at ${Date.now() - started} ms, while the key still had ${ttlLeft} ms to live`);
});
