import { fillValues, gapMs, nextConversation, stepAfter, type Cursor, type Script } from '../domain/warmer.ts';
import type { Sql } from '../events/event-store.ts';
import type { PlannedConversation, WarmerCampaign } from './campaign-rows.ts';
import { DEFAULT_SCRIPTS } from './default-scripts.ts';

// Where a campaign goes when a conversation ends (or before its first): the next conversation's slot, its target and
// script in turn (round-robin), its values, whether the target answers from a device of the same user, and its first
// step. Undefined when no slot is left before the end date.

export async function scriptsOf(sql: Sql, campaignId: number): Promise<(Script & { id: number })[]> {
  const rows = await sql('select id, name, messages, variables from warmer_scripts where campaign_id = ? order by id', [campaignId]);
  return rows.map((row) => ({ id: Number(row.id), name: String(row.name), messages: row.messages as Script['messages'], variables: row.variables as string[] }));
}

// The user's own connected device with this number, other than the one being warmed.
async function ownDeviceWith(sql: Sql, campaign: WarmerCampaign, digits: string): Promise<number | null> {
  const [row] = await sql(`select id from devices where user_id = ? and phone_number = ? and status = 'connected' and id <> ? order by id limit 1`, [
    campaign.userId,
    `+${digits}`,
    campaign.deviceId,
  ]);
  return row ? Number(row.id) : null;
}

export type Placement = Pick<WarmerCampaign, 'cursor' | 'conversation' | 'nextAt' | 'conversationsPlanned'>;

export async function placeNextConversation(sql: Sql, campaign: WarmerCampaign, timeZone: string, after: Cursor | undefined, now: Date, random: number): Promise<Placement | undefined> {
  const next = nextConversation(campaign.schedule, timeZone, after, now, gapMs(campaign.settings, random));
  if (!next) return undefined;
  const own = await scriptsOf(sql, campaign.id);
  const scripts = own.length ? own : DEFAULT_SCRIPTS;
  const no = campaign.conversationsPlanned;
  const script = scripts[no % scripts.length]!;
  const target = campaign.targetNumbers[no % campaign.targetNumbers.length]!;
  const conversation: PlannedConversation = {
    no,
    target,
    script,
    values: fillValues(script, campaign.variables, `${campaign.id}:${no}`),
    userDeviceId: await ownDeviceWith(sql, campaign, target),
  };
  // Every script has a bot step (checked when it is added), so a conversation always has a first step.
  const first = stepAfter(script.messages, -1, conversation.userDeviceId !== null)!;
  return {
    cursor: { day: next.day, slot: next.slot, conversation: next.conversation, step: first.step },
    conversation,
    nextAt: new Date(next.at.getTime() + first.delayMs),
    conversationsPlanned: no + 1,
  };
}
