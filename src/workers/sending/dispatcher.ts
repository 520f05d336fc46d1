import type { Clock } from '../../auth/context.ts';
import type { Projection } from '../../events/projections/projection.ts';
import type { JobsOptions } from 'bullmq';
import { sendJobOptions, type SendJobData, type SendQueues } from './send-queues.ts';

// The outbox is the event log itself: this follows `message.queued` from its checkpoint (with the projection
// runner, so it resumes where it stopped after a crash) and puts one job on the session's queue per event. The
// API never talks to BullMQ, so a send accepted is a send that will be attempted, whatever dies in between.
export function sendDispatcher(queues: SendQueues, clock: Clock): Projection {
  return {
    name: 'send-dispatcher',
    handles: ['message.queued'],
    async apply(_sql, events) {
      // One addBulk per session and batch: a campaign puts thousands of messages on one queue at once.
      const bySession = new Map<number, { name: 'send'; data: SendJobData; opts: JobsOptions }[]>();
      for (const event of events) {
        const deviceId = event.metadata.deviceId;
        if (deviceId === undefined) continue;
        const { messageId, sendAt, priority } = event.data as { messageId: string; sendAt?: string; priority?: number };
        const jobs = bySession.get(deviceId) ?? [];
        jobs.push({ name: 'send', data: { messageId }, opts: sendJobOptions(messageId, event.streamVersion, clock(), sendAt, priority) });
        bySession.set(deviceId, jobs);
      }
      // All sessions' at once: their commands share the connection's pipeline. One after another, a batch touching
      // 500 sessions waited out 500 round trips in a row inside the batch's transaction.
      await Promise.all([...bySession].map(([deviceId, jobs]) => queues.of(deviceId).addBulk(jobs)));
    },
    // Nothing to empty: jobs already dispatched are not taken back.
    async reset() {},
  };
}
