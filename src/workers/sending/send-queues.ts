import type { JobsOptions, Queue } from 'bullmq';
import type { QueueBackend } from '../queue-backend.ts';

// One BullMQ queue per session (`send-<deviceId>`): only the process holding the session consumes it, one job at a
// time (order kept), paced by the queue's limiter, which lives in the queues' store and so holds across processes. A session
// that moves to another worker takes its queue along; nothing waits in a process's memory.
export const sendQueueName = (deviceId: number) => `send-${deviceId}`;

export interface SendJobData {
  messageId: string;
}

export const SEND_ATTEMPTS = 8;

// BullMQ runs lower numbers first and keeps FIFO order within one; our priorities run 1 (last) to 10 (first).
export const DEFAULT_PRIORITY = 5;
const bullPriority = (priority = DEFAULT_PRIORITY) => 11 - priority;

// One job per `message.queued` event: its id names the event (message and stream version), so dispatching the
// same event again is a no-op while BullMQ keeps the job, and a resend (a later `message.queued`) is a new job.
export function sendJobOptions(messageId: string, streamVersion: number, now: Date, sendAt?: string, priority?: number): JobsOptions {
  const delay = sendAt ? Math.max(0, Date.parse(sendAt) - now.getTime()) : 0;
  return {
    jobId: `${messageId}-v${streamVersion}`,
    priority: bullPriority(priority),
    ...(delay ? { delay } : {}),
    attempts: SEND_ATTEMPTS,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

// Producers for the session queues, created on first use and shared by the process (they all use the backend's
// one connection).
export class SendQueues {
  readonly #queues = new Map<number, Queue<SendJobData>>();
  readonly #backend: QueueBackend;

  constructor(backend: QueueBackend) {
    this.#backend = backend;
  }

  of(deviceId: number): Queue<SendJobData> {
    let queue = this.#queues.get(deviceId);
    if (!queue) {
      queue = this.#backend.queue<SendJobData>(sendQueueName(deviceId));
      this.#queues.set(deviceId, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    this.#queues.clear();
  }
}
