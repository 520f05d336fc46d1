import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import type { Orm } from '../db/orm.ts';
import type { Clock } from '../auth/context.ts';
import type { JobName, Queues } from './queues.ts';
import { reportCampaignProgress } from '../messages/campaigns.ts';
import { failStrandedMessages } from '../messages/fail-stranded.ts';
import { purgeExpiredCredentials } from './processors/purge-expired-credentials.ts';

export interface WorkerDeps {
  orm: Orm;
  queues: Queues;
  connection: Redis;
  prefix: string;
  logger: Logger;
  clock: Clock;
  // How long a message may wait for a stopped session (SEND_MAX_WAIT).
  maxWaitMs: number;
}

export interface RunningWorkers {
  close(): Promise<void>;
}

// The worker role: consumes the queues and keeps the recurring jobs scheduled.
export async function startWorkers({ orm, queues, connection, prefix, logger, clock, maxWaitMs }: WorkerDeps): Promise<RunningWorkers> {
  await queues.maintenance.upsertJobScheduler(
    'purge-expired-credentials-hourly',
    { every: 3_600_000 },
    { name: 'purge-expired-credentials', data: {} },
  );

  await queues.maintenance.upsertJobScheduler(
    'fail-stranded-messages-every-30s',
    { every: 30_000 },
    { name: 'fail-stranded-messages', data: {} },
  );

  await queues.maintenance.upsertJobScheduler(
    'report-campaign-progress-every-3s',
    { every: 3000 },
    { name: 'report-campaign-progress', data: {} },
  );

  const maintenance = new Worker(
    'maintenance',
    async (job) => {
      switch (job.name as JobName<'maintenance'>) {
        case 'purge-expired-credentials':
          return purgeExpiredCredentials(orm.em.fork(), clock());
        case 'report-campaign-progress':
          return reportCampaignProgress(orm.em.fork(), connection, prefix);
        case 'fail-stranded-messages':
          return failStrandedMessages(orm.em.fork(), { now: clock(), maxWaitMs });
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
