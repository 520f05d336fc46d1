import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Job, Worker } from 'bullmq';
import pg from 'pg';
import { createLogger } from '../../src/logger.ts';
import { postgresQueueBackend, type QueueBackend } from '../../src/workers/queue-backend.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { createTestResources } from '../helpers/resources.ts';
import { until } from '../helpers/wait.ts';

// BullMQ on PostgreSQL as the platform shares it: a queue per session must not cost a pool and a LISTEN connection
// per session (PostgreSQL's default max_connections is 100).
const SESSIONS = 100;
const resources = createTestResources();
let database: Awaited<ReturnType<typeof openTestDatabase>>;
let backend: QueueBackend;
let admin: pg.Client;
before(async () => {
  database = await openTestDatabase(resources);
  backend = await postgresQueueBackend(resources.databaseUrl, createLogger({ logLevel: 'silent' }));
  admin = new pg.Client({ connectionString: resources.databaseUrl });
  await admin.connect();
});
after(async () => {
  await backend?.close();
  await admin?.end();
  await database?.close();
  await resources.cleanup();
});

// Connections to the test database other than this test's own.
const connections = async () =>
  Number((await admin.query('select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()')).rows[0].count);

test(`${SESSIONS} session queues and their workers share a handful of connections, and every job runs`, { timeout: 120_000 }, async () => {
  const before = await connections();
  const done = new Set<string>();
  const workers: Worker[] = [];
  const queues = Array.from({ length: SESSIONS }, (_, i) => backend.queue<{ n: number }>(`send-${i}`));
  for (let i = 0; i < SESSIONS; i++) {
    workers.push(backend.worker<{ n: number }>(`send-${i}`, async (job: Job<{ n: number }>) => void done.add(`${i}:${job.data.n}`), { concurrency: 1 }));
  }
  try {
    await Promise.all(queues.map((queue, i) => queue.add('send', { n: i })));
    await until(() => (done.size === SESSIONS ? true : undefined), `all ${SESSIONS} jobs (${done.size} so far)`, 60_000);
    const used = (await connections()) - before;
    // One pool of six and one LISTEN client, whatever the number of queues (the ORM's and others' are not counted).
    assert.ok(used <= 7, `${used} connections for ${SESSIONS} queues and workers`);
  } finally {
    await Promise.all(workers.map((worker) => worker.close()));
    await Promise.all(queues.map((queue) => queue.close()));
  }
});

test('a LISTEN connection that drops is replaced: a waiting worker still gets the next job at once', { timeout: 60_000 }, async () => {
  const ran: number[] = [];
  const queue = backend.queue<{ n: number }>('relisten');
  // drainDelay would otherwise hide a lost LISTEN behind the worker's next poll.
  const worker = backend.worker<{ n: number }>('relisten', async (job: Job<{ n: number }>) => void ran.push(job.data.n), { drainDelay: 3600 });
  try {
    await queue.add('one', { n: 1 });
    await until(() => (ran.length === 1 ? true : undefined), 'the first job');
    const { rowCount } = await admin.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and query like '-- Subscribe to the shared job-notification channel%'`,
    );
    // BullMQ's command files open with a comment, which pg_stat_activity shows as the connection's last query.
    assert.ok(rowCount && rowCount >= 1, 'found the LISTEN connection');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const added = Date.now();
    await queue.add('two', { n: 2 });
    await until(() => (ran.length === 2 ? true : undefined), 'the second job, after the LISTEN connection died', 10_000);
    assert.ok(Date.now() - added < 5000, `picked up in ${Date.now() - added} ms`);
  } finally {
    await worker.close();
    await queue.close();
  }
});
