import { Redis } from 'ioredis';
import pg from 'pg';
import type { Coordination } from '../../src/coordination/coordination.ts';
import { createRedisCoordination } from '../../src/coordination/redis-coordination.ts';
import { REDIS_URL, TEST_BACKENDS, type TestResources } from './resources.ts';

export interface TestCoordination {
  coordination: Coordination;
  close(): Promise<void>;
}

// A coordination store on a test's resources, as a platform process in the suite's mode would open it (its own
// connections: two of these stand for two processes). PostgreSQL's needs the resources' database migrated.
export async function openTestCoordination(resources: TestResources, kind: 'redis' | 'postgres' = TEST_BACKENDS === 'redis' ? 'redis' : 'postgres'): Promise<TestCoordination> {
  if (kind === 'redis') {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const coordination = createRedisCoordination(redis, resources.redisPrefix);
    return {
      coordination,
      close: async () => {
        await coordination.close();
        redis.disconnect();
      },
    };
  }
  const { createPostgresCoordination } = await import('../../src/coordination/postgres-coordination.ts');
  const pool = new pg.Pool({ connectionString: resources.databaseUrl, max: 4 });
  // pool.end() resolves before its connections close: the cleanup's drop database may end an idle one.
  pool.on('error', () => {});
  const coordination = await createPostgresCoordination({ pool, databaseUrl: resources.databaseUrl });
  return {
    coordination,
    close: async () => {
      await coordination.close();
      await pool.end();
    },
  };
}
