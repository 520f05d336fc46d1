import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from '../auth/context.ts';
import { AppError } from '../domain/errors.ts';
import { streamOf, type DomainEvent } from '../domain/events.ts';
import type { Cursor, Script, WarmerSchedule, WarmerSettings, WarmerStatus } from '../domain/warmer.ts';
import { appendToStream, type Row, type Sql } from '../events/event-store.ts';

// A warmer campaign's row: what it is (device, targets, schedule, settings) and where it stands: the step due next
// (`cursor`, at `nextAt`), the conversation under way, and the run its step jobs belong to.

// A conversation as planned when it begins, so that scripts added or targets changed later leave it as it was.
export interface PlannedConversation {
  no: number;
  // The target's digits.
  target: string;
  script: Script;
  values: Record<string, string>;
  // The target's own device of the same user, which answers the `user` side; null: the bot side only.
  userDeviceId: number | null;
}

// The message the next step follows, and how long after it went out: a step goes only once the message before it is
// on WhatsApp (a reply never overtakes its question, whichever session is slower), `delayMs` after it went.
export interface WaitsFor {
  messageId: string;
  delayMs: number;
}

export interface WarmerCampaign {
  id: number;
  userId: number;
  deviceId: number;
  name: string;
  targetNumbers: string[];
  schedule: WarmerSchedule;
  settings: WarmerSettings;
  variables: Record<string, string>;
  status: WarmerStatus;
  run: number;
  cursor: Cursor | null;
  conversation: PlannedConversation | null;
  nextAt: Date | null;
  waitsFor: WaitsFor | null;
  conversationsPlanned: number;
  createdAt: Date;
  updatedAt: Date;
}

export function campaignOf(row: Row): WarmerCampaign {
  return {
    id: Number(row.id),
    userId: Number(row.user_id),
    deviceId: Number(row.device_id),
    name: String(row.name),
    targetNumbers: row.target_numbers as string[],
    schedule: row.schedule as WarmerSchedule,
    settings: row.settings as WarmerSettings,
    variables: row.variables as Record<string, string>,
    status: row.status as WarmerStatus,
    run: Number(row.run),
    cursor: (row.cursor as Cursor | null) ?? null,
    conversation: (row.conversation as PlannedConversation | null) ?? null,
    nextAt: row.next_at ? new Date(row.next_at as string) : null,
    waitsFor: (row.waits_for as WaitsFor | null) ?? null,
    conversationsPlanned: Number(row.conversations_planned),
    createdAt: new Date(row.created_at as string),
    updatedAt: new Date(row.updated_at as string),
  };
}

// A caller reaches their own campaigns (an administrator everyone's), and a credential bound to devices only those
// of its devices: the values of `(?::int is null or user_id = ?) and (?::int[] is null or device_id = any(?::int[]))`.
export function reachOf(principal: Principal): unknown[] {
  const owner = principal.role === 'admin' ? null : principal.userId;
  const devices = principal.deviceIds === undefined ? null : [...principal.deviceIds];
  return [owner, owner, devices, devices];
}

// Any campaign the caller does not reach answers as a missing one.
export async function findWarmerCampaign(sql: Sql, principal: Principal, id: number, lock = false): Promise<WarmerCampaign> {
  const [row] = await sql(
    lock
      ? 'select * from warmer_campaigns where id = ? and (?::int is null or user_id = ?) and (?::int[] is null or device_id = any(?::int[])) for update'
      : 'select * from warmer_campaigns where id = ? and (?::int is null or user_id = ?) and (?::int[] is null or device_id = any(?::int[]))',
    [id, ...reachOf(principal)],
  );
  if (!row) throw new AppError('NOT_FOUND', `Warmer campaign ${id} not found`);
  return campaignOf(row);
}

export async function lockCampaign(sql: Sql, id: number): Promise<WarmerCampaign | undefined> {
  const [row] = await sql('select * from warmer_campaigns where id = ? for update', [id]);
  return row && campaignOf(row);
}

// A step's job: one per step of a run, so a run's steps are never queued twice and a resumed run's never collide with
// the paused one's (whose job may have finished, doing nothing, and still hold its id).
export function stepJobId(campaignId: number, run: number, cursor: Cursor): string {
  return `warmer-${campaignId}-${run}-${cursor.day}-${cursor.slot}-${cursor.conversation}-${cursor.step}`;
}

export const waitingJobOf = (campaign: WarmerCampaign) => (campaign.status === 'active' && campaign.cursor ? stepJobId(campaign.id, campaign.run, campaign.cursor) : null);

export async function saveProgress(sql: Sql, campaign: WarmerCampaign, now: Date): Promise<void> {
  await sql(
    `update warmer_campaigns set status = ?, run = ?, cursor = ?::jsonb, conversation = ?::jsonb, next_at = ?, waits_for = ?::jsonb, conversations_planned = ?,
        updated_at = ? where id = ?`,
    [
      campaign.status,
      campaign.run,
      campaign.cursor && JSON.stringify(campaign.cursor),
      campaign.conversation && JSON.stringify(campaign.conversation),
      campaign.nextAt,
      campaign.waitsFor && JSON.stringify(campaign.waitsFor),
      campaign.conversationsPlanned,
      now,
      campaign.id,
    ],
  );
}

export function appendToCampaign(em: EntityManager, campaign: Pick<WarmerCampaign, 'id' | 'userId' | 'deviceId'>, events: DomainEvent[], eventId?: string) {
  return appendToStream(
    em,
    streamOf.warmerCampaign(campaign.id),
    events.map((event, index) => (index === 0 && eventId ? { event, eventId } : { event })),
    { expectedVersion: 'any', metadata: { tenantId: campaign.userId, deviceId: campaign.deviceId } },
  );
}
