import { UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import type { Logger } from '../logger.ts';
import type { Orm } from '../db/orm.ts';
import type { Clock } from '../auth/context.ts';
import type { JobName, Queues } from './queues.ts';
import { purgeExpiredCredentials } from './processors/purge-expired-credentials.ts';

export interface WorkerDeps {
  orm: Orm;
  queues: Queues;
  connection: ConnectionOptions;
  prefix: string;
  logger: Logger;
  clock: Clock;
}

export interface RunningWorkers {
  close(): Promise<void>;
}

// The worker role: consumes the queues and keeps the recurring jobs scheduled.
export async function startWorkers({ orm, queues, connection, prefix, logger, clock }: WorkerDeps): Promise<RunningWorkers> {
  await queues.maintenance.upsertJobScheduler(
    'purge-expired-credentials-hourly',
    { every: 3_600_000 },
    { name: 'purge-expired-credentials', data: {} },
  );

  const maintenance = new Worker(
    'maintenance',
    async (job) => {
      switch (job.name as JobName<'maintenance'>) {
        case 'purge-expired-credentials':
          return purgeExpiredCredentials(orm.em.fork(), clock());
        default:
          throw new UnrecoverableError(`no processor for maintenance job "${job.name}"`);
      }
    },
    { connection, prefix, concurrency: 1 },
  );
  maintenance.on('error', (err) => logger.error({ err }, 'maintenance worker error'));
  maintenance.on('failed', (job, err) => logger.warn({ err, jobId: job?.id, job: job?.name }, 'job failed'));

  return {
    close: () => maintenance.close(),
  };
}
