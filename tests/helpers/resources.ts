import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

// Each test file (and each benchmark) gets its own database and Redis key prefix, so files run in parallel and
// runs never collide.
export interface TestResources {
  databaseUrl: string;
  redisPrefix: string;
  cleanup(): Promise<void>;
}

export function createTestResources(label = 'test'): TestResources {
  // The test file's name in it tells whose leftovers any are.
  const file = (process.argv[1] ?? '').split('/').at(-1)!.replace(/\..*$/, '').replace(/[^a-z0-9]/gi, '').slice(0, 20);
  const id = `${file}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const database = `wa_${label}_${id}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return {
    databaseUrl: url.toString(),
    redisPrefix: `${label}${id}`,
    async cleanup() {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      await client.query(`drop database if exists "${database}" with (force)`);
      await client.end();
      await deleteKeys(`${label}${id}`);
    },
  };
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}
