import type { Queue } from 'bullmq';
import type { QueueBackend } from './queue-backend.ts';

// The job catalogue: every queue and the job names it carries, in one place. Queue and job names are
// kebab-case; job ids never contain ':' (BullMQ's key separator).
export const JOBS = {
  maintenance: ['purge-expired-credentials', 'fail-stranded-messages', 'report-campaign-progress', 'purge-unused-blobs', 'end-lapsed-send-pauses'],
  // One job per (event, endpoint), id = the delivery id; retries wait as delayed jobs. Replays scan a time range.
  webhooks: ['deliver', 'replay'],
  // One download per received media message, id = `download-<messageId>`.
  media: ['download'],
  // One reply per burst of a chat's messages, id = `ai-<the burst's last message id>` (src/ai/reply-job.ts).
  ai: ['reply'],
  // One job per step of a warm-up conversation, id = `warmer-<campaign>-<run>-<day>-<slot>-<conversation>-<step>` (src/warmer).
  warmer: ['step'],
} as const;

export type QueueName = keyof typeof JOBS;
export type JobName<Q extends QueueName> = (typeof JOBS)[Q][number];
export type Queues = Record<QueueName, Queue>;

export function createQueues(backend: QueueBackend): Queues {
  return {
    maintenance: backend.queue('maintenance', { defaultJobOptions: { removeOnComplete: 100, removeOnFail: 500 } }),
    // Finished delivery jobs stay ten minutes (at most 10,000: each carries its event), so a dispatcher batch that
    // runs again after a crash finds their ids taken.
    // Failed receivers are retried by the job itself (delayed, on the webhook schedule); BullMQ's own attempts are for
    // our infrastructure failing (PostgreSQL unreachable): 20 doublings from 1 s reach past a week.
    webhooks: backend.queue('webhooks', {
      defaultJobOptions: { removeOnComplete: { age: 600, count: 10_000 }, removeOnFail: { age: 7 * 86_400 }, attempts: 20, backoff: { type: 'exponential', delay: 1000 } },
    }),
    // Attempts and backoff are set per job by the download dispatcher; a day of history for the progress view.
    media: backend.queue('media', { defaultJobOptions: { removeOnComplete: { age: 86_400, count: 10_000 }, removeOnFail: { age: 7 * 86_400 } } }),
    // Attempts and backoff are set per job by the AI reactor; a day of history, as for downloads.
    ai: backend.queue('ai', { defaultJobOptions: { removeOnComplete: { age: 86_400, count: 10_000 }, removeOnFail: { age: 7 * 86_400 } } }),
    // A step that fails on our infrastructure (PostgreSQL unreachable) is tried again; it sends at most once anyway.
    warmer: backend.queue('warmer', {
      defaultJobOptions: { removeOnComplete: { age: 86_400, count: 10_000 }, removeOnFail: { age: 7 * 86_400 }, attempts: 10, backoff: { type: 'exponential', delay: 1000 } },
    }),
  };
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}
