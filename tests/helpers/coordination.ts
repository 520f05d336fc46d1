import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Coordination } from '../../src/coordination/coordination.ts';
import { createPostgresCoordination } from '../../src/coordination/postgres-coordination.ts';
import { createRedisCoordination } from '../../src/coordination/redis-coordination.ts';
import { REDIS_URL, TEST_BACKENDS } from './resources.ts';

export type CoordinationKind = Coordination['kind'];

// Where an instance keeps its state: the fields of a test's resources (also passed to a child process).
export interface Store {
  databaseUrl: string;
  redisPrefix: string;
}

// One coordination instance with connections of its own, as a platform process opens it; two stand for two
// processes. Each can cut the connection its subscriptions arrive on, as a network failure or a restarted server
// would. PostgreSQL's needs the store's database migrated.
export interface Instance {
  coordination: Coordination;
  // Ends, from the server's side, the connection that receives this instance's messages on `channel`.
  dropListener(channel: string): Promise<void>;
  close(): Promise<void>;
}

// `kind` defaults to the suite's mode: Redis, or PostgreSQL when the mode has no Redis.
export function openTestCoordination(store: Store, kind: CoordinationKind = TEST_BACKENDS === 'redis' ? 'redis' : 'postgres'): Promise<Instance> {
  return kind === 'redis' ? openRedisInstance(store) : openPostgresInstance(store);
}

async function openRedisInstance(store: Store): Promise<Instance> {
  // The subscriber connection is a duplicate of this one, so it carries the name too: the way to find it in CLIENT LIST.
  const connectionName = `coordination-test-${randomUUID()}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null, connectionName });
  const coordination = createRedisCoordination(redis, store.redisPrefix);
  return {
    coordination,
    async dropListener() {
      const clients = String(await redis.client('LIST')).split('\n');
      const subscribers = clients.filter((line) => line.includes(` name=${connectionName} `) && !/ sub=0 /.test(line));
      if (!subscribers.length) throw new Error(`no subscriber connection named ${connectionName}`);
      for (const line of subscribers) await redis.client('KILL', 'ID', /(?:^| )id=(\d+)/.exec(line)![1]!);
    },
    async close() {
      await coordination.close();
      redis.disconnect();
    },
  };
}

async function openPostgresInstance(store: Store): Promise<Instance> {
  const pool = new pg.Pool({ connectionString: store.databaseUrl, max: 4 });
  // As on the platform's pool (src/backends.ts), an idle connection's end is no crash: pool.end() resolves before its
  // connections have closed, and the test's cleanup (drop database ... with (force)) may end them first.
  pool.on('error', () => {});
  const coordination = await createPostgresCoordination({ pool, databaseUrl: store.databaseUrl });
  return {
    coordination,
    async dropListener(channel) {
      // The listening backend registers itself per channel; a channel of this instance alone names it.
      const { rows } = await pool.query(
        `select pg_terminate_backend(s.backend_pid) as ended from coordination_subscriptions s
         join pg_stat_activity a on a.pid = s.backend_pid and a.backend_start = s.backend_start where s.channel = $1`,
        [channel],
      );
      if (!rows.some((row) => row.ended)) throw new Error(`no live backend listens on ${channel}`);
    },
    async close() {
      await coordination.close();
      await pool.end();
    },
  };
}
