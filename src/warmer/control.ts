import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../domain/errors.ts';
import type { DomainEvent } from '../domain/events.ts';
import { decideTransition, type WarmerAction } from '../domain/warmer.ts';
import { sqlOf } from '../events/event-store.ts';
import { saveProgress, waitingJobOf, type WarmerCampaign } from './campaign-rows.ts';
import { placeNextConversation } from './planning.ts';

// Start, pause, resume and stop, on a campaign whose row the caller holds locked: the row and the event change in one
// transaction, and the warmer reactor, following the log, queues the step due (start, resume) or takes the waiting
// step's job off the queue (pause, stop). A job that slipped through finds the campaign's new status and does nothing.

export async function transitionCampaign(em: EntityManager, campaign: WarmerCampaign, action: WarmerAction, timeZone: string, now: Date): Promise<DomainEvent[]> {
  const decision = decideTransition(campaign.status, action);
  if ('refused' in decision) throw new AppError('INVALID_CAMPAIGN_STATE', `Campaign ${campaign.id}: ${decision.refused}`);
  const sql = sqlOf(em);
  const campaignId = campaign.id;
  const jobId = waitingJobOf(campaign);
  let events: DomainEvent[];
  let next: WarmerCampaign;
  switch (action) {
    case 'start': {
      const [device] = await sql('select phone_number from devices where id = ?', [campaign.deviceId]);
      if (!device?.phone_number) throw new AppError('DEVICE_NOT_CONNECTED', `Device ${campaign.deviceId} has never been linked to WhatsApp; link it before warming it`);
      const placed = await placeNextConversation(sql, campaign, timeZone, undefined, now, Math.random());
      next = { ...campaign, ...placed, run: campaign.run + 1, status: placed ? 'active' : 'completed' };
      events = [{ type: 'warmer.started', data: { campaignId, run: next.run, nextAt: placed?.nextAt?.toISOString() ?? null } }];
      if (!placed) events.push({ type: 'warmer.completed', data: { campaignId } });
      break;
    }
    case 'resume': {
      // Where it was: the step that was due, at once if its time passed meanwhile.
      const nextAt = new Date(Math.max(campaign.nextAt?.getTime() ?? 0, now.getTime()));
      next = { ...campaign, run: campaign.run + 1, status: 'active', nextAt };
      events = [{ type: 'warmer.resumed', data: { campaignId, run: next.run, nextAt: nextAt.toISOString() } }];
      break;
    }
    case 'pause':
      next = { ...campaign, status: 'paused' };
      events = [{ type: 'warmer.paused', data: { campaignId, jobId } }];
      break;
    case 'stop':
      next = { ...campaign, status: 'stopped' };
      events = [{ type: 'warmer.stopped', data: { campaignId, jobId } }];
      break;
  }
  await saveProgress(sql, next, now);
  return events;
}
