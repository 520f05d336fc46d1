import type { Queue } from 'bullmq';
import type { Clock } from '../auth/context.ts';
import type { Projection } from '../events/projections/projection.ts';
import { campaignOf, stepJobId } from './campaign-rows.ts';
import type { WarmerStepJobData } from './step-job.ts';

// Follows the warmer's events and keeps each campaign's one waiting step on the queue: after a start, a resume or a
// step, the step the campaign's row says is due, as a delayed job whose id names the campaign, run and step (so a
// batch read again adds nothing); after a pause, stop or deletion, that step's job removed. A job this misses (it was
// running) finds the campaign's status and does nothing.

const SCHEDULING = ['warmer.started', 'warmer.resumed', 'warmer.step-sent', 'warmer.step-failed'];
const REMOVING = ['warmer.paused', 'warmer.stopped', 'warmer.campaign-deleted'];

export function warmerReactor({ queue, clock }: { queue: Queue; clock: Clock }): Projection {
  return {
    name: 'warmer-steps',
    handles: [...SCHEDULING, ...REMOVING],
    async apply(sql, events) {
      for (const event of events) {
        const jobId = REMOVING.includes(event.type) ? (event.data.jobId as string | null) : null;
        if (jobId) await queue.remove(jobId).catch(() => 0);
      }
      const ids = [...new Set(events.filter((e) => SCHEDULING.includes(e.type)).map((e) => Number(e.data.campaignId)))];
      if (!ids.length) return;
      const rows = await sql(`select * from warmer_campaigns where id in (?) and status = 'active' and cursor is not null`, [ids]);
      const now = clock().getTime();
      const jobs = rows.map(campaignOf).map((campaign) => {
        const data: WarmerStepJobData = { campaignId: campaign.id, run: campaign.run, cursor: campaign.cursor! };
        const delay = Math.max(0, Math.ceil((campaign.nextAt?.getTime() ?? now) - now));
        return { name: 'step', data, opts: { jobId: stepJobId(campaign.id, campaign.run, campaign.cursor!), delay } };
      });
      if (jobs.length) await queue.addBulk(jobs);
    },
    // Nothing to empty: the campaigns' rows are the warmer's state, not a view to rebuild.
    async reset() {},
  };
}
