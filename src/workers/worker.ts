import { UnrecoverableError } from 'bullmq';
import type { Coordination } from '../coordination/coordination.ts';
import type { QueueBackend } from './queue-backend.ts';
import type { Logger } from '../logger.ts';
import type { Orm } from '../db/orm.ts';
import type { Clock } from '../auth/context.ts';
import type { JobName, Queues } from './queues.ts';
import { reportCampaignProgress } from '../messages/campaigns.ts';
import { failStrandedMessages } from '../messages/fail-stranded.ts';
import { purgeExpiredCredentials } from './processors/purge-expired-credentials.ts';
import type { WebhookSettings } from '../config.ts';
import { createWebhookPoster } from '../webhooks/post.ts';
import { deliveryProcessor, type DeliveryJobData } from './webhooks/deliver.ts';
import { replayRange, type ReplayJobData } from './webhooks/dispatcher.ts';
import { EndpointGate } from './webhooks/endpoint-gate.ts';
import type { Config } from '../config.ts';
import type { CacheInvalidation } from '../coordination/cache-invalidation.ts';
import type { FileStorage } from '../files/storage.ts';
import { mediaDownloadProcessor, type MediaDownloadJobData } from './media/download.ts';
import { SessionQuestions } from './sessions/session-requests.ts';
import { signedFileUrl } from '../files/signed-urls.ts';
import { purgeUnusedBlobs } from '../files/file-records.ts';
import { mediaInliner } from '../files/inline-media.ts';
import { endLapsedPauses } from '../policy/send-policy.ts';
import { aiReplyBackoff, aiReplyProcessor, type AiReplyJobData } from '../ai/reply-job.ts';
import { warmerStepProcessor, type WarmerStepJobData } from '../warmer/step-job.ts';

export interface WorkerDeps {
  orm: Orm;
  queues: Queues;
  backend: QueueBackend;
  coordination: Coordination;
  logger: Logger;
  clock: Clock;
  // How long a message may wait for a stopped session (SEND_MAX_WAIT).
  maxWaitMs: number;
  webhooks: WebhookSettings;
  encryptionKey: Buffer;
  // Received media is stored as files (and their quota read) like uploads.
  storage: FileStorage;
  config: Config;
  // Delivery jobs keep endpoints in memory, forgotten when a change is announced.
  invalidation: CacheInvalidation;
}

// Downloads run beside sends and webhooks; each is a few MB of network and disk.
const MEDIA_CONCURRENCY = 4;

export interface RunningWorkers {
  close(): Promise<void>;
}

// The worker role: consumes the queues and keeps the recurring jobs scheduled.
export async function startWorkers({ orm, queues, backend, coordination, logger, clock, maxWaitMs, webhooks, encryptionKey, storage, config, invalidation }: WorkerDeps): Promise<RunningWorkers> {
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

  // The send policy's pauses end on time, with their events, whether or not a message is waiting to notice.
  await queues.maintenance.upsertJobScheduler(
    'end-lapsed-send-pauses-every-5s',
    { every: 5000 },
    { name: 'end-lapsed-send-pauses', data: {} },
  );

  await queues.maintenance.upsertJobScheduler(
    'purge-unused-blobs-every-10m',
    { every: 600_000 },
    { name: 'purge-unused-blobs', data: {} },
  );

  const maintenance = backend.worker(
    'maintenance',
    async (job) => {
      switch (job.name as JobName<'maintenance'>) {
        case 'purge-expired-credentials':
          return purgeExpiredCredentials(orm.em.fork(), clock());
        case 'report-campaign-progress':
          return reportCampaignProgress(orm.em.fork(), coordination);
        case 'fail-stranded-messages':
          return failStrandedMessages(orm.em.fork(), { now: clock(), maxWaitMs });
        case 'purge-unused-blobs':
          return purgeUnusedBlobs({ em: orm.em.fork(), storage }, clock());
        case 'end-lapsed-send-pauses':
          return endLapsedPauses(orm.em.fork(), clock());
        default:
          throw new UnrecoverableError(`no processor for maintenance job "${job.name}"`);
      }
    },
    { concurrency: 1 },
  );
  maintenance.on('error', (err) => logger.error({ err }, 'maintenance worker error'));
  maintenance.on('failed', (job, err) => logger.warn({ err, jobId: job?.id, job: job?.name }, 'job failed'));

  const poster = createWebhookPoster({ timeoutMs: webhooks.timeoutMs, allowPrivate: webhooks.allowPrivate });
  // A slot outlives the request's deadline a little, so it only expires by itself when its holder died.
  const gate = new EndpointGate(coordination, webhooks.timeoutMs + 5000);
  const fileLinks = (fileId: string) => signedFileUrl(config, fileId, 'download', clock());
  const inlineMedia = mediaInliner(() => orm.em.fork(), storage);
  const deliver = deliveryProcessor({ orm, poster, gate, settings: webhooks, encryptionKey, clock, fileLinks, inlineMedia, invalidation });
  const webhookWorker = backend.worker(
    'webhooks',
    async (job, token) => {
      switch (job.name as JobName<'webhooks'>) {
        case 'deliver':
          return deliver(job as typeof job & { data: DeliveryJobData }, token);
        case 'replay':
          return replayRange(orm, queues.webhooks, job.data as ReplayJobData);
        default:
          throw new UnrecoverableError(`no processor for webhooks job "${job.name}"`);
      }
    },
    // Killed workers are no reason to give a delivery up: a stalled job simply runs again.
    { concurrency: webhooks.concurrency, maxStalledCount: 1000 },
  );
  webhookWorker.on('error', (err) => logger.error({ err }, 'webhooks worker error'));
  webhookWorker.on('failed', (job, err) => logger.warn({ err, jobId: job?.id, job: job?.name }, 'webhook job failed'));

  // Media retries are asked of the session holding the device, wherever it runs.
  const questions = new SessionQuestions(coordination);
  const download = mediaDownloadProcessor({ orm, storage, config, questions, logger });
  const mediaWorker = backend.worker(
    'media',
    async (job) => {
      if ((job.name as JobName<'media'>) !== 'download') throw new UnrecoverableError(`no processor for media job "${job.name}"`);
      return download(job as typeof job & { data: MediaDownloadJobData });
    },
    { concurrency: MEDIA_CONCURRENCY, maxStalledCount: 100 },
  );
  mediaWorker.on('error', (err) => logger.error({ err }, 'media worker error'));
  mediaWorker.on('failed', (job, err) => logger.warn({ err, jobId: job?.id, job: job?.name }, 'media job failed'));

  const answer = aiReplyProcessor({ orm, coordination, settings: config.ai, encryptionKey, clock, logger });
  const aiWorker = backend.worker(
    'ai',
    async (job, token) => {
      if ((job.name as JobName<'ai'>) !== 'reply') throw new UnrecoverableError(`no processor for ai job "${job.name}"`);
      return answer(job as typeof job & { data: AiReplyJobData }, token);
    },
    // A killed worker's reply runs again (it queues its answer once, whatever happens).
    { concurrency: config.ai.concurrency, maxStalledCount: 100, settings: { backoffStrategy: aiReplyBackoff } },
  );
  aiWorker.on('error', (err) => logger.error({ err }, 'ai worker error'));
  aiWorker.on('failed', (job, err) => logger.warn({ err, jobId: job?.id, job: job?.name }, 'ai job failed'));

  const warmStep = warmerStepProcessor({ orm, clock, timeZone: config.warmerTimeZone });
  const warmerWorker = backend.worker(
    'warmer',
    async (job, token) => {
      if ((job.name as JobName<'warmer'>) !== 'step') throw new UnrecoverableError(`no processor for warmer job "${job.name}"`);
      return warmStep(job as typeof job & { data: WarmerStepJobData }, token);
    },
    // A killed worker's step runs again (it sends once, whatever happens).
    { concurrency: 10, maxStalledCount: 100 },
  );
  warmerWorker.on('error', (err) => logger.error({ err }, 'warmer worker error'));
  warmerWorker.on('failed', (job, err) => logger.warn({ err, jobId: job?.id, job: job?.name }, 'warmer job failed'));

  return {
    async close() {
      await Promise.all([maintenance.close(), webhookWorker.close(), mediaWorker.close(), aiWorker.close(), warmerWorker.close()]);
      await questions.close();
      poster.close();
    },
  };
}
