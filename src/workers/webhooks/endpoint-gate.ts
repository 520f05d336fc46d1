import { randomUUID } from 'node:crypto';
import type { Redis, Result } from 'ioredis';

// Per-endpoint limits across every worker process, so one slow or dead receiver never holds the shared queue's
// slots: at most `concurrency` requests in flight to an endpoint and, when it has a rate limit, at most that many
// started per second. A slot is a lease in a sorted set that expires by itself if its holder dies.

const ACQUIRE = `
local inflight, rate = KEYS[1], KEYS[2]
local now, max, lease, token, perSecond = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', inflight, '-inf', now)
if redis.call('ZCARD', inflight) >= max then return 0 end
if perSecond > 0 then
  local n = redis.call('INCR', rate)
  if n == 1 then redis.call('PEXPIRE', rate, 2000) end
  if n > perSecond then return 0 end
end
redis.call('ZADD', inflight, now + lease, token)
redis.call('PEXPIRE', inflight, lease * 2)
return 1`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    acquireWebhookSlot(inflight: string, rate: string, now: number, max: number, leaseMs: number, token: string, perSecond: number): Result<number, Context>;
  }
}

export class EndpointGate {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #leaseMs: number;

  constructor(redis: Redis, prefix: string, leaseMs: number) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#leaseMs = leaseMs;
    if (!(redis as unknown as Record<string, unknown>).acquireWebhookSlot) redis.defineCommand('acquireWebhookSlot', { numberOfKeys: 2, lua: ACQUIRE });
  }

  // A release function when a slot was free, undefined when the endpoint is at its limit now.
  async acquire(endpointId: string, concurrency: number, perSecond: number | null): Promise<(() => Promise<void>) | undefined> {
    const now = Date.now();
    const inflight = `${this.#prefix}:webhook-inflight:${endpointId}`;
    const rate = `${this.#prefix}:webhook-rate:${endpointId}:${Math.floor(now / 1000)}`;
    const token = randomUUID();
    const granted = await this.#redis.acquireWebhookSlot(inflight, rate, now, concurrency, this.#leaseMs, token, perSecond ?? 0);
    if (!granted) return undefined;
    return async () => {
      await this.#redis.zrem(inflight, token);
    };
  }
}
