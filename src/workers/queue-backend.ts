import {
  PostgresConnection,
  PostgresQueueBackend,
  Queue,
  Worker,
  type BackendFactory,
  type PostgresConnectionOptions,
  type Processor,
  type QueueOptions,
  type WorkerOptions,
} from 'bullmq';
import type { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';

// Where BullMQ keeps the queues: Redis (REDIS_URL set) or PostgreSQL (BullMQ's own backend, schema `bullmq`). Every
// Queue and Worker of the platform is made here, so the rest of the code never knows which.
export interface QueueBackend {
  readonly kind: 'redis' | 'postgres';
  queue<T = unknown>(name: string, options?: Omit<QueueOptions, 'connection' | 'prefix'>): Queue<T>;
  worker<T = unknown>(name: string, processor: Processor<T>, options?: Omit<WorkerOptions, 'connection' | 'prefix'>): Worker<T>;
  close(): Promise<void>;
}

// Every class shares the process's one command connection; workers duplicate it for their blocking reads.
export function redisQueueBackend(connection: Redis, prefix: string): QueueBackend {
  return {
    kind: 'redis',
    queue: (name, options) => new Queue(name, { ...options, connection, prefix }),
    worker: (name, processor, options) => new Worker(name, processor, { ...options, connection, prefix }),
    close: async () => {},
  };
}

// How many connections the process's queues use in all on PostgreSQL (plus one for LISTEN).
const POOL_SIZE = 6;

// BullMQ's PostgreSQL backend opens a pool and a LISTEN connection for every Queue and Worker: with a queue per
// session, 100 sessions would exhaust PostgreSQL's default max_connections. Here all of them share one connection
// (a small pool and one LISTEN client: workers filter the shared `bullmq_jobs` channel by queue name anyway).
export async function postgresQueueBackend(databaseUrl: string, logger: Logger): Promise<QueueBackend> {
  const connection = new PostgresConnection({ connectionString: databaseUrl, max: POOL_SIZE, migrate: true });
  connection.setMaxListeners(0);
  connection.on('error', (err) => logger.warn({ err }, 'queue connection to PostgreSQL failed; it reconnects'));
  await connection.waitUntilReady();
  // Every waiting worker listens on the one LISTEN client for a moment: a hundred sessions are not a leak.
  const unlimited = () => void connection.getListenClient().then((client) => (client as unknown as EventEmitter).setMaxListeners(0), () => {});
  unlimited();
  connection.on('listenerinvalidated', unlimited);
  const factory: BackendFactory<PostgresQueueBackend, PostgresConnectionOptions> = (name, opts) => {
    // A backend that does not own its connection ignores a lost LISTEN client; one that blocks on the shared client
    // must listen again and give up the wait parked on the dead client (what BullMQ does for an owning backend).
    const backend = new PostgresQueueBackend(connection, name, opts, false);
    const relisten = () => void backend.disconnectBlocking().then(() => backend.reconnectBlocking());
    connection.on('listenerinvalidated', relisten);
    const close = backend.close.bind(backend);
    backend.close = async (force?: boolean) => {
      connection.off('listenerinvalidated', relisten);
      await close(force);
    };
    return backend;
  };
  return {
    kind: 'postgres',
    // The classes' types default to the Redis backend; the methods used here are the same on both.
    queue: <T>(name: string, options?: Omit<QueueOptions, 'connection' | 'prefix'>) =>
      new Queue(name, { ...options, connection: databaseUrl }, factory) as unknown as Queue<T>,
    worker: <T>(name: string, processor: Processor<T>, options?: Omit<WorkerOptions, 'connection' | 'prefix'>) =>
      new Worker(name, processor, { ...options, connection: databaseUrl }, factory) as unknown as Worker<T>,
    close: () => connection.close(),
  };
}
