import { DelayedError, type Job } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../auth/context.ts';
import type { Orm } from '../db/orm.ts';
import { transaction } from '../db/transactions.ts';
import type { DomainEvent, WarmerStepData } from '../domain/events.ts';
import { renderTemplate } from '../domain/messages.ts';
import { stepAfter, type Cursor } from '../domain/warmer.ts';
import { eventIdOf } from '../events/event-ids.ts';
import { sqlOf, type Sql } from '../events/event-store.ts';
import { queueMessages, type SendingDevice } from '../messages/queue-message.ts';
import { appendToCampaign, lockCampaign, saveProgress, type PlannedConversation, type WarmerCampaign } from './campaign-rows.ts';
import { placeNextConversation } from './planning.ts';

// One step of a warm-up conversation: under the campaign's lock, unless the campaign moved on (paused, stopped, a
// newer run, this step done), and once the message before it has gone out (else the job waits a little more), queue
// its message through the normal send pipeline (so the send policy's caps apply)
// with `warmer.step-sent`, and move the campaign to its next step, all in one transaction. A job run twice, or run
// again after a crash, finds the step done and sends nothing; the warmer reactor queues the next step's job from the
// event, so a crash after the commit loses nothing either.

export interface WarmerStepJobData {
  campaignId: number;
  run: number;
  cursor: Cursor;
}

export interface WarmerStepDeps {
  orm: Orm;
  clock: Clock;
  timeZone: string;
}

// How long the step still waits (ms): for its time, and for the message before it to have gone out `delayMs` ago
// (measured on the database's clock, which stamps both). While that message is still on its way, the step looks
// again after a tenth of the time it has waited so far (half a second to a minute): a message the send policy
// holds for hours is not asked after twice a second.
async function waitBefore(sql: Sql, campaign: WarmerCampaign, now: Date): Promise<{ ms: number; behind: boolean }> {
  const planned = campaign.nextAt!.getTime() - now.getTime();
  if (!campaign.waitsFor) return { ms: planned, behind: false };
  const [row] = await sql(
    `select status, extract(epoch from (now() - sent_at)) * 1000 as since_sent, extract(epoch from (now() - queued_at)) * 1000 as since_queued
       from message_status where message_id = ?`,
    [campaign.waitsFor.messageId],
  );
  if (!row || row.status === 'queued') return { ms: Math.min(Math.max(500, Number(row?.since_queued ?? 0) / 10), 60_000), behind: true };
  // A message that failed holds nothing up.
  return { ms: row.since_sent === null ? planned : Math.max(planned, campaign.waitsFor.delayMs - Number(row.since_sent)), behind: false };
}

const sameCursor = (a: Cursor | null, b: Cursor) => !!a && a.day === b.day && a.slot === b.slot && a.conversation === b.conversation && a.step === b.step;

async function sendingDevice(sql: Sql, id: number | null): Promise<(SendingDevice & { phoneNumber: string | null }) | undefined> {
  if (id === null) return undefined;
  const [row] = await sql('select id, user_id, session_id, phone_number from devices where id = ?', [id]);
  return row && { id: Number(row.id), userId: Number(row.user_id), sessionId: String(row.session_id), phoneNumber: (row.phone_number as string | null) ?? null };
}

// The message of the step, queued; or why it could not be.
async function sendStep(em: EntityManager, campaign: WarmerCampaign, conversation: PlannedConversation, step: WarmerStepData, now: Date): Promise<DomainEvent> {
  const sql = sqlOf(em);
  const warmed = await sendingDevice(sql, campaign.deviceId);
  const from = step.sender === 'bot' ? warmed : await sendingDevice(sql, conversation.userDeviceId);
  const to = step.sender === 'bot' ? conversation.target : warmed?.phoneNumber?.replace(/\D/g, '');
  const data = { ...step, fromDeviceId: from?.id ?? null, from: from?.phoneNumber ?? null, to: to ? `+${to}` : step.to };
  if (!from || !to) return { type: 'warmer.step-failed', data: { ...data, code: 'DEVICE_NOT_FOUND', reason: `the ${step.sender} side's device is gone or has no number` } };
  const [queued] = await queueMessages(
    em,
    {
      device: from,
      recipient: { jid: `${to}@s.whatsapp.net`, kind: 'person' },
      contents: [{ type: 'text', text: step.text }],
      idempotencyKey: `warmer-${campaign.id}-${step.day}-${step.slot}-${step.conversation}-${step.step}`,
      origin: 'warmer',
      typing: campaign.settings.naturalTyping,
    },
    now,
  );
  return { type: 'warmer.step-sent', data: { ...data, messageId: queued!.messageId } };
}

export function warmerStepProcessor({ orm, clock, timeZone }: WarmerStepDeps) {
  return async (job: Job<WarmerStepJobData>, token?: string) => {
    const { campaignId, run, cursor } = job.data;
    const outcome = await transaction(orm.em.fork(), async (em): Promise<Record<string, unknown> | { waitMs: number }> => {
      const sql = sqlOf(em);
      const campaign = await lockCampaign(sql, campaignId);
      if (!campaign || campaign.status !== 'active' || campaign.run !== run || !sameCursor(campaign.cursor, cursor) || !campaign.conversation) return { skipped: 'the campaign moved on' };
      const stepEventId = eventIdOf(`warmer-step:${campaignId}:${cursor.day}-${cursor.slot}-${cursor.conversation}-${cursor.step}`);
      if ((await sql('select 1 from events where event_id = ?', [stepEventId])).length) return { skipped: 'sent before' };
      const now = clock();
      const wait = await waitBefore(sql, campaign, now);
      if (wait.behind || wait.ms > 20) return { waitMs: wait.ms };
      const conversation = campaign.conversation;
      const userSide = conversation.userDeviceId !== null;
      const script = conversation.script.messages;
      const message = script[cursor.step]!;
      const rendered = renderTemplate(message.message, conversation.values);
      const after = stepAfter(script, cursor.step, userSide);
      const step: WarmerStepData = {
        campaignId,
        conversationNo: conversation.no,
        ...cursor,
        sender: message.sender,
        script: conversation.script.name,
        fromDeviceId: null,
        from: null,
        to: `+${conversation.target}`,
        text: 'text' in rendered ? rendered.text : message.message,
        first: stepAfter(script, -1, userSide)!.step === cursor.step,
        last: !after,
      };
      const outcome = await sendStep(em, campaign, conversation, step, now);
      const placed = after
        ? { cursor: { ...cursor, step: after.step }, conversation, nextAt: new Date(now.getTime() + after.delayMs), conversationsPlanned: campaign.conversationsPlanned }
        : await placeNextConversation(sql, campaign, timeZone, cursor, now, Math.random());
      const sent = outcome.type === 'warmer.step-sent' ? outcome.data.messageId : undefined;
      const waitsFor = sent ? { messageId: sent, delayMs: after?.delayMs ?? 0 } : null;
      await saveProgress(sql, { ...campaign, ...(placed ?? { cursor: null, conversation: null, nextAt: null }), waitsFor, status: placed ? 'active' : 'completed' }, now);
      await appendToCampaign(em, campaign, [outcome, ...(placed ? [] : [{ type: 'warmer.completed', data: { campaignId } } as const])], stepEventId);
      return { [outcome.type]: cursor };
    });
    if ('waitMs' in outcome && typeof outcome.waitMs === 'number') {
      await job.moveToDelayed(Date.now() + Math.ceil(outcome.waitMs), token);
      throw new DelayedError();
    }
    return outcome;
  };
}
