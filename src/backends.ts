import { join } from 'node:path';
import pg from 'pg';
import { redact, type Config } from './config.ts';
import type { Coordination } from './coordination/coordination.ts';
import { createRedisCoordination } from './coordination/redis-coordination.ts';
import type { Logger } from './logger.ts';
import { openRedis } from './redis.ts';
import { postgresQueueBackend, redisQueueBackend, type QueueBackend } from './workers/queue-backend.ts';

// The platform's stores, chosen by configuration: DATABASE_URL names a PostgreSQL, else one is embedded in DATA_DIR;
// REDIS_URL names a Redis for queues and coordination, else both live in PostgreSQL too. The code above this module
// is the same in every combination.

export interface Database {
  url: string;
  // For the startup log: which one and why.
  chosen: string;
  close(): Promise<void>;
}

export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  if (config.databaseUrl) return { url: config.databaseUrl, chosen: `PostgreSQL at ${redact(config.databaseUrl)} (DATABASE_URL)`, close: async () => {} };
  // Loaded only in the mode that uses it, as is the PostgreSQL coordination below.
  const { startEmbeddedPostgres } = await import('./db/embedded-postgres.ts');
  const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, logger });
  return {
    url: embedded.url,
    chosen: `embedded PostgreSQL ${embedded.version} in ${join(config.dataDir, 'postgres')} at ${redact(embedded.url)} (DATABASE_URL is not set; for one process: see README, "Embedded mode")`,
    close: () => embedded.stop(),
  };
}

export interface Coordinated {
  coordination: Coordination;
  queueBackend: QueueBackend;
  chosen: string;
  close(): Promise<void>;
}

// Connections the PostgreSQL coordination keeps for its statements (plus one for LISTEN).
const COORDINATION_POOL_SIZE = 4;

export async function openCoordination(config: Config, databaseUrl: string, logger: Logger): Promise<Coordinated> {
  if (config.redisUrl) {
    const redis = await openRedis(config.redisUrl);
    const coordination = createRedisCoordination(redis, config.redisPrefix);
    return {
      coordination,
      queueBackend: redisQueueBackend(redis, config.redisPrefix),
      chosen: `Redis at ${redact(config.redisUrl)} (REDIS_URL)`,
      close: async () => {
        await coordination.close();
        await redis.quit();
      },
    };
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: COORDINATION_POOL_SIZE });
  pool.on('error', (err) => logger.warn({ err }, 'coordination connection to PostgreSQL failed; it reconnects'));
  const { createPostgresCoordination } = await import('./coordination/postgres-coordination.ts');
  const coordination = await createPostgresCoordination({ pool, databaseUrl, logger });
  const queueBackend = await postgresQueueBackend(databaseUrl, logger);
  return {
    coordination,
    queueBackend,
    chosen: 'PostgreSQL (REDIS_URL is not set: queues on BullMQ\'s PostgreSQL backend, leases and limits in coordination_* tables)',
    close: async () => {
      await queueBackend.close();
      await coordination.close();
      await pool.end();
    },
  };
}
