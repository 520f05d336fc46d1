import type { Queue } from 'bullmq';
import type { Projection } from '../../events/projections/projection.ts';
import { MEDIA_DOWNLOAD_ATTEMPTS } from './download.ts';

// Follows `message.media-received` in the log (from its checkpoint, so nothing received is left undownloaded after a
// crash) and puts one download job per message on the media queue; the id is the message's, so a batch that runs
// again adds nothing twice.
export function mediaDownloadDispatcher(queue: Queue): Projection {
  return {
    name: 'media-download-dispatcher',
    handles: ['message.media-received'],
    async apply(_sql, events) {
      const jobs = events.map((event) => {
        const messageId = String(event.data.messageId);
        return {
          name: 'download',
          data: { messageId },
          opts: { jobId: `download-${messageId}`, attempts: MEDIA_DOWNLOAD_ATTEMPTS, backoff: { type: 'exponential', delay: 2000 } },
        };
      });
      if (jobs.length) await queue.addBulk(jobs);
    },
    async reset() {},
  };
}
