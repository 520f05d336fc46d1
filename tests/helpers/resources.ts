import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

// Which stores a platform under test runs on (the suite runs its journeys in each; see scripts/test):
// `redis` — the machine's PostgreSQL and Redis; `postgres` — the machine's PostgreSQL, no Redis (queues and
// coordination in PostgreSQL); `embedded` — neither: the platform starts its own PostgreSQL in a data directory.
export type TestBackends = 'redis' | 'postgres' | 'embedded';
export const TEST_BACKENDS = testBackends(process.env.TEST_BACKENDS);

function testBackends(value = 'redis'): TestBackends {
  if (value === 'redis' || value === 'postgres' || value === 'embedded') return value;
  throw new Error(`TEST_BACKENDS="${value}" must be redis, postgres or embedded`);
}

// Each test file (and each benchmark) gets its own database and Redis key prefix, so files run in parallel and
// runs never collide.
export interface TestResources {
  databaseUrl: string;
  redisPrefix: string;
  // Stored files, and the embedded mode's PostgreSQL (created by the platform when it starts).
  dataDir: string;
  cleanup(): Promise<void>;
}

// The environment that puts a platform under test on its resources, in the suite's mode.
export function backendEnv(resources: TestResources, backends: TestBackends = TEST_BACKENDS): Record<string, string> {
  // The data directory holds the stored files (unless TEST_STORAGE=s3) in every mode, and the embedded PostgreSQL
  // in that mode.
  const data = { DATA_DIR: resources.dataDir, ...s3StorageEnv(resources) };
  if (backends === 'embedded') return data;
  const database = { ...data, DATABASE_URL: resources.databaseUrl };
  return backends === 'postgres' ? database : { ...database, REDIS_URL, REDIS_PREFIX: resources.redisPrefix };
}

// TEST_STORAGE=s3 (scripts/test starts the server, scripts/s3-server): stored files in that bucket, under a key
// prefix of the test file's own, so files running at once never see each other's objects.
function s3StorageEnv(resources: TestResources): Record<string, string> {
  if (process.env.TEST_STORAGE !== 's3') return {};
  const endpoint = process.env.TEST_S3_ENDPOINT;
  const bucket = process.env.TEST_S3_BUCKET;
  if (!endpoint || !bucket) throw new Error('TEST_STORAGE=s3 needs TEST_S3_ENDPOINT and TEST_S3_BUCKET (a server from scripts/s3-server)');
  return {
    STORAGE_DRIVER: 's3',
    S3_ENDPOINT: endpoint,
    S3_BUCKET: bucket,
    // s3rver's fixed pair.
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    S3_PREFIX: resources.redisPrefix,
  };
}

export function createTestResources(label = 'test'): TestResources {
  // The test file's name in it tells whose leftovers any are.
  const file = (process.argv[1] ?? '').split('/').at(-1)!.replace(/\..*$/, '').replace(/[^a-z0-9]/gi, '').slice(0, 20);
  const id = `${file}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const database = `wa_${label}_${id}`;
  const dataDir = join(tmpdir(), database);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return {
    databaseUrl: url.toString(),
    redisPrefix: `${label}${id}`,
    dataDir,
    async cleanup() {
      await rm(dataDir, { recursive: true, force: true });
      // The embedded mode made nothing on the machine's services (which may not be reachable: tests/standalone).
      if (TEST_BACKENDS === 'embedded') return;
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
