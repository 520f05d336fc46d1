import { randomUUID } from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import type { Coordination, Subscription } from './coordination.ts';

// Coordination on Redis (REDIS_URL set): each operation one command or one Lua script, keys under REDIS_PREFIX. The
// key names are those the platform used before the interface existed, so an upgrade keeps live leases and limits.

const LEASE_TOKEN = `
local token = redis.call('INCR', KEYS[1])
if token <= tonumber(ARGV[1]) then token = tonumber(ARGV[1]) + 1; redis.call('SET', KEYS[1], token) end
return token`;
const LEASE_RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const LEASE_RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`;

// A slot is a member of a sorted set scored by when it lapses; the per-second cap counts grants in this second.
const ACQUIRE_SLOT = `
local holders, rate = KEYS[1], KEYS[2]
local now, max, lease, token, perSecond = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
if redis.call('ZCARD', holders) >= max then return 0 end
if perSecond > 0 then
  local n = redis.call('INCR', rate)
  if n == 1 then redis.call('PEXPIRE', rate, 2000) end
  if n > perSecond then return 0 end
end
redis.call('ZADD', holders, now + lease, token)
redis.call('PEXPIRE', holders, lease * 2)
return 1`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    coordinationLeaseToken(counter: string, above: number): Result<number, Context>;
    coordinationHit(key: string, windowMs: number): Result<[number, number], Context>;
    coordinationAcquireSlot(holders: string, rate: string, now: number, max: number, leaseMs: number, token: string, perSecond: number): Result<number, Context>;
  }
}

export function createRedisCoordination(redis: Redis, prefix: string): Coordination {
  if (!(redis as unknown as Record<string, unknown>).coordinationHit) {
    redis.defineCommand('coordinationLeaseToken', { numberOfKeys: 1, lua: LEASE_TOKEN });
    redis.defineCommand('coordinationHit', { numberOfKeys: 1, lua: HIT });
    redis.defineCommand('coordinationAcquireSlot', { numberOfKeys: 2, lua: ACQUIRE_SLOT });
  }
  const k = (key: string) => `${prefix}:${key}`;
  const leaseValue = (owner: string, token: number) => `${owner}:${token}`;
  // A subscribed connection can do nothing else: one per process, opened on first use, shared by its subscriptions.
  let subscriber: Promise<Redis> | undefined;
  const handlers = new Map<string, { live: Promise<unknown>; each: Set<(message: string) => void> }>();
  const interrupted = new Set<() => void>();
  const listen = () =>
    (subscriber ??= (async () => {
      // No ready check: ioredis 5 can write its INFO after a SUBSCRIBE issued while connecting, which Redis refuses
      // in subscriber mode (redis/ioredis#2037, fixed in ioredis 6); the failed check was an uncaught error.
      const connection = redis.duplicate({ enableReadyCheck: false });
      connection.on('error', () => {
        // Reconnects (and resubscribes) on its own, as the command connection does.
      });
      connection.on('close', () => {
        for (const notice of interrupted) notice();
      });
      connection.on('message', (channel: string, message: string) => {
        for (const handler of handlers.get(channel)?.each ?? []) handler(message);
      });
      return connection;
    })());

  return {
    kind: 'redis',
    async set(key, value, ttlMs) {
      await redis.set(k(key), value, 'PX', ttlMs);
    },
    async setIfAbsent(key, value, ttlMs) {
      return (await redis.set(k(key), value, 'PX', ttlMs, 'NX')) === 'OK';
    },
    async get(key) {
      return (await redis.get(k(key))) ?? undefined;
    },
    async take(key) {
      return (await redis.getdel(k(key))) ?? undefined;
    },
    async ttl(key) {
      return Math.max(0, await redis.pttl(k(key)));
    },
    async delete(key) {
      await redis.del(k(key));
    },
    async addToSet(key, member) {
      await redis.sadd(k(key), member);
    },
    members: (key) => redis.smembers(k(key)),
    async hit(key, windowMs) {
      const [count, ttlMs] = await redis.coordinationHit(k(key), windowMs);
      return { count, ttlMs };
    },
    async acquireLease(name, owner, ttlMs, above = 0) {
      const token = await redis.coordinationLeaseToken(k(`lease-token:${name}`), above);
      return (await redis.set(k(`lease:${name}`), leaseValue(owner, token), 'PX', ttlMs, 'NX')) === 'OK' ? token : undefined;
    },
    async renewLease(name, owner, token, ttlMs) {
      return (await redis.eval(LEASE_RENEW, 1, k(`lease:${name}`), leaseValue(owner, token), String(ttlMs))) === 1;
    },
    async releaseLease(name, owner, token) {
      await redis.eval(LEASE_RELEASE, 1, k(`lease:${name}`), leaseValue(owner, token));
    },
    async leaseHolder(name) {
      const value = await redis.get(k(`lease:${name}`));
      if (!value) return undefined;
      const at = value.lastIndexOf(':');
      return { owner: value.slice(0, at), token: Number(value.slice(at + 1)) };
    },
    async acquireSlot(key, max, leaseMs, perSecond) {
      const now = Date.now();
      const token = randomUUID();
      const granted = await redis.coordinationAcquireSlot(k(`${key}:holders`), k(`${key}:rate:${Math.floor(now / 1000)}`), now, max, leaseMs, token, perSecond);
      return granted ? token : undefined;
    },
    async releaseSlot(key, token) {
      await redis.zrem(k(`${key}:holders`), token);
    },
    publish: (channel, message) => redis.publish(k(channel), message),
    async subscribe(channel, onMessage, onInterrupted): Promise<Subscription> {
      const connection = await listen();
      const interruption = onInterrupted && (() => onInterrupted());
      if (interruption) interrupted.add(interruption);
      const name = k(channel);
      let subscribed = handlers.get(name);
      if (!subscribed) handlers.set(name, (subscribed = { live: connection.subscribe(name), each: new Set() }));
      const { each } = subscribed;
      each.add(onMessage);
      await subscribed.live;
      return {
        async close() {
          if (interruption) interrupted.delete(interruption);
          each.delete(onMessage);
          if (each.size || handlers.get(name)?.each !== each) return;
          handlers.delete(name);
          await connection.unsubscribe(name).catch(() => {});
        },
      };
    },
    async ping() {
      await redis.ping();
    },
    async close() {
      const connection = await subscriber;
      handlers.clear();
      interrupted.clear();
      await connection?.quit().catch(() => connection.disconnect());
    },
  };
}
