import { Redis } from 'ioredis';
import { redact } from './config.ts';

// One shared command connection per process for rate limits and BullMQ producers; BullMQ workers open
// their own blocking connections from it (see README, "Redis connections").
export async function openRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, connectTimeout: 5000 });
  redis.on('error', () => {
    // Reconnects on its own; the failure surfaces on the commands that need it and on /ready.
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot reach Redis at ${redact(url)} (${reason}) — start it with "docker compose up -d redis" or set REDIS_URL`);
  }
  return redis;
}
