import type { Principal } from '../auth/context.ts';
import { streamOf, type WarmerStepData } from '../domain/events.ts';
import type { Sql } from '../events/event-store.ts';
import { reachOf, type WarmerCampaign } from './campaign-rows.ts';

// What a campaign did, from our own records: its step events (`warmer.step-sent`, `warmer.step-failed`) joined with
// the status each message reached in the send pipeline (`message_status`).

const SUCCESS = new Set(['sent', 'delivered', 'read', 'played']);

export interface WarmerStats {
  campaignId: number;
  totalSent: number;
  totalSuccess: number;
  totalFailed: number;
  successRate: number;
  avgResponseTime: number;
  conversationsStarted: number;
  activeConversations: number;
}

export type WarmerLogEntry = Pick<WarmerStepData, 'conversationNo' | 'day' | 'slot' | 'conversation' | 'step' | 'sender' | 'script' | 'from' | 'to'> & {
  id: number;
  message: string;
  messageId: string | null;
  status: string;
  error: string | null;
  queuedAt: string;
  sentAt: string | null;
};

interface StepRow {
  position: number;
  data: WarmerStepData & { messageId?: string; reason?: string };
  status: string;
  error: string | null;
  recordedAt: Date;
  sentAt: Date | null;
}

const stepRowOf = (row: Record<string, unknown>): StepRow => ({
  position: Number(row.global_position),
  data: row.data as StepRow['data'],
  status: row.type === 'warmer.step-failed' ? 'failed' : String(row.status ?? 'queued'),
  error: (row.type === 'warmer.step-failed' ? (row.data as { reason: string }).reason : (row.error as string | null)) ?? null,
  recordedAt: new Date(row.recorded_at as string),
  sentAt: row.sent_at ? new Date(row.sent_at as string) : null,
});

export async function statsOf(sql: Sql, campaign: WarmerCampaign): Promise<WarmerStats> {
  const rows = (
    await sql(
      `select e.global_position, e.type, e.data, e.recorded_at, m.status, m.error, m.sent_at from events e
        left join message_status m on m.message_id = e.data->>'messageId'
        where e.stream_id = ? and e.type in ('warmer.step-sent', 'warmer.step-failed') order by e.global_position`,
      [streamOf.warmerCampaign(campaign.id)],
    )
  ).map(stepRowOf);
  const totalSuccess = rows.filter((row) => SUCCESS.has(row.status)).length;
  const totalFailed = rows.filter((row) => row.status === 'failed').length;
  // Between a bot message going out and the user side's answer in the same conversation.
  const waits: number[] = [];
  const lastBotSent = new Map<number, Date | null>();
  for (const row of rows) {
    if (row.data.sender === 'bot') lastBotSent.set(row.data.conversationNo, row.sentAt);
    const asked = lastBotSent.get(row.data.conversationNo);
    if (row.data.sender === 'user' && asked && row.sentAt) waits.push(row.sentAt.getTime() - asked.getTime());
  }
  const started = new Set(rows.filter((row) => row.data.first).map((row) => row.data.conversationNo)).size;
  const finished = new Set(rows.filter((row) => row.data.last).map((row) => row.data.conversationNo)).size;
  const running = campaign.status === 'active' || campaign.status === 'paused';
  return {
    campaignId: campaign.id,
    totalSent: rows.length,
    totalSuccess,
    totalFailed,
    successRate: rows.length ? Math.round((totalSuccess / rows.length) * 10_000) / 100 : 0,
    avgResponseTime: waits.length ? Math.round(waits.reduce((a, b) => a + b, 0) / waits.length) : 0,
    conversationsStarted: started,
    activeConversations: running ? started - finished : 0,
  };
}

// Newest first; `before`: the `nextCursor` of the page before.
export async function logsOf(sql: Sql, campaign: WarmerCampaign, limit: number, before: number | undefined): Promise<{ items: WarmerLogEntry[]; nextCursor: number | null }> {
  const cursor = before ?? null;
  const rows = (
    await sql(
      `select e.global_position, e.type, e.data, e.recorded_at, m.status, m.error, m.sent_at from events e
        left join message_status m on m.message_id = e.data->>'messageId'
        where e.stream_id = ? and e.type in ('warmer.step-sent', 'warmer.step-failed') and (?::bigint is null or e.global_position < ?)
        order by e.global_position desc limit ?`,
      [streamOf.warmerCampaign(campaign.id), cursor, cursor, limit + 1],
    )
  ).map(stepRowOf);
  const items = rows.slice(0, limit).map(
    ({ position, data, status, error, recordedAt, sentAt }): WarmerLogEntry => ({
      id: position,
      conversationNo: data.conversationNo,
      day: data.day,
      slot: data.slot,
      conversation: data.conversation,
      step: data.step,
      sender: data.sender,
      script: data.script,
      from: data.from,
      to: data.to,
      message: data.text,
      messageId: data.messageId ?? null,
      status,
      error,
      queuedAt: recordedAt.toISOString(),
      sentAt: sentAt?.toISOString() ?? null,
    }),
  );
  return { items, nextCursor: rows.length > limit ? items.at(-1)!.id : null };
}

export interface WarmerDevice {
  id: number;
  alias: string;
  sessionId: string;
  phoneNumber: string;
  status: string;
}

// The devices the caller reaches (as for campaigns: their own, an administrator's all) that can warm up or answer:
// connected, with their number.
export async function warmerDevicesOf(sql: Sql, principal: Principal): Promise<WarmerDevice[]> {
  const rows = await sql(
    `select id, alias, session_id, phone_number, status from devices
      where (?::int is null or user_id = ?) and (?::int[] is null or id = any(?::int[])) and status = 'connected' and phone_number is not null order by id`,
    reachOf(principal),
  );
  return rows.map((row) => ({ id: Number(row.id), alias: String(row.alias), sessionId: String(row.session_id), phoneNumber: String(row.phone_number), status: String(row.status) }));
}
