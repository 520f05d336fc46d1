import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from '../auth/context.ts';
import { transaction } from '../db/transactions.ts';
import { findDevice } from '../devices/devices.ts';
import { AppError } from '../domain/errors.ts';
import type { DomainEvent } from '../domain/events.ts';
import { actionFor, placeholdersOf, scheduleProblem, type Script, type WarmerAction, type WarmerSchedule, type WarmerSettings } from '../domain/warmer.ts';
import { sqlOf } from '../events/event-store.ts';
import { appendToCampaign, campaignOf, findWarmerCampaign, reachOf, waitingJobOf, type WarmerCampaign } from './campaign-rows.ts';
import { transitionCampaign } from './control.ts';

// Warmer campaigns as the API changes them: made (a draft, unless asked to start), edited, started, paused, resumed,
// stopped, deleted, given scripts. Each change is its row and its events in one transaction, under the row's lock.

export const DEFAULT_SETTINGS: WarmerSettings = { randomizeDelay: true, minDelay: 300, maxDelay: 900, naturalTyping: true };

export interface CampaignInput {
  name: string;
  deviceId: number;
  targetNumbers: string[];
  schedule: WarmerSchedule;
  settings?: Partial<WarmerSettings>;
  variables?: Record<string, string>;
  status?: 'draft' | 'active';
}

export interface CampaignPatch {
  name?: string;
  deviceId?: number;
  targetNumbers?: string[];
  schedule?: WarmerSchedule;
  settings?: Partial<WarmerSettings>;
  variables?: Record<string, string>;
  status?: 'active' | 'paused' | 'stopped';
}

export interface WarmerContext {
  em: EntityManager;
  principal: Principal;
  timeZone: string;
  now: Date;
}

// Digits of each target, once each. A number no message can reach (seed 004's `+0987654321`) is kept: its messages
// fail and show as failed in the stats, which says more than refusing the campaign.
function targetsOf(numbers: string[], ownNumber: string | null): string[] {
  const digits = numbers.map((number) => {
    const plain = /^\+?[\d\s().-]+$/.test(number.trim()) ? number.replace(/\D/g, '') : '';
    if (plain.length < 7 || plain.length > 15) throw new AppError('INVALID_PHONE_NUMBER', `targetNumbers: "${number}" is not a phone number`);
    return plain;
  });
  if (ownNumber && digits.includes(ownNumber.replace(/\D/g, ''))) throw new AppError('VALIDATION_ERROR', 'targetNumbers: a device cannot warm up with itself');
  return [...new Set(digits)];
}

function settingsOf(base: WarmerSettings, patch: Partial<WarmerSettings> | undefined): WarmerSettings {
  const settings = { ...base, ...patch };
  if (settings.minDelay > settings.maxDelay) throw new AppError('VALIDATION_ERROR', 'settings.minDelay must not exceed settings.maxDelay');
  return settings;
}

function checkSchedule(schedule: WarmerSchedule): WarmerSchedule {
  const problem = scheduleProblem(schedule);
  if (problem) throw new AppError('VALIDATION_ERROR', problem);
  return schedule;
}

async function deviceOf(ctx: WarmerContext, deviceId: number) {
  const device = await findDevice(ctx.em, ctx.principal, deviceId);
  return { id: device.id, userId: device.user.id, phoneNumber: device.phoneNumber ?? null };
}

async function transitionAndRecord(tx: EntityManager, campaign: WarmerCampaign, action: WarmerAction | undefined, ctx: WarmerContext, before: DomainEvent[]) {
  const events = [...before, ...(action ? await transitionCampaign(tx, campaign, action, ctx.timeZone, ctx.now) : [])];
  if (events.length) await appendToCampaign(tx, campaign, events);
}

export async function createWarmerCampaign(ctx: WarmerContext, input: CampaignInput): Promise<number> {
  const device = await deviceOf(ctx, input.deviceId);
  const targets = targetsOf(input.targetNumbers, device.phoneNumber);
  const schedule = checkSchedule(input.schedule);
  const settings = settingsOf(DEFAULT_SETTINGS, input.settings);
  return transaction(ctx.em, async (tx) => {
    const [row] = await sqlOf(tx)(
      `insert into warmer_campaigns (user_id, device_id, name, target_numbers, schedule, settings, variables, created_at, updated_at)
        values (?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?) returning *`,
      [device.userId, device.id, input.name, JSON.stringify(targets), JSON.stringify(schedule), JSON.stringify(settings), JSON.stringify(input.variables ?? {}), ctx.now, ctx.now],
    );
    const campaign = campaignOf(row!);
    const created: DomainEvent = { type: 'warmer.campaign-created', data: { campaignId: campaign.id, name: campaign.name, deviceId: device.id, targetNumbers: targets.map((t) => `+${t}`) } };
    await transitionAndRecord(tx, campaign, input.status === 'active' ? 'start' : undefined, ctx, [created]);
    return campaign.id;
  });
}

export async function updateWarmerCampaign(ctx: WarmerContext, id: number, patch: CampaignPatch): Promise<void> {
  await transaction(ctx.em, async (tx) => {
    const sql = sqlOf(tx);
    const campaign = await findWarmerCampaign(sql, ctx.principal, id, true);
    // The schedule and the device shape the positions of steps under way: they change only before the start.
    if ((patch.schedule || patch.deviceId !== undefined) && campaign.status !== 'draft') {
      throw new AppError('INVALID_CAMPAIGN_STATE', `Campaign ${id} is ${campaign.status}: its schedule and device change only while it is a draft`);
    }
    const device = patch.deviceId === undefined ? undefined : await deviceOf({ ...ctx, em: tx }, patch.deviceId);
    const ownNumber = device ? device.phoneNumber : ((await sql('select phone_number from devices where id = ?', [campaign.deviceId]))[0]?.phone_number as string | null);
    const changed: WarmerCampaign = {
      ...campaign,
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(device ? { deviceId: device.id } : {}),
      targetNumbers: patch.targetNumbers ? targetsOf(patch.targetNumbers, ownNumber) : campaign.targetNumbers,
      schedule: patch.schedule ? checkSchedule(patch.schedule) : campaign.schedule,
      settings: settingsOf(campaign.settings, patch.settings),
      variables: patch.variables ?? campaign.variables,
    };
    const fields = (['name', 'deviceId', 'targetNumbers', 'schedule', 'settings', 'variables'] as const).filter((field) => patch[field] !== undefined);
    const action = patch.status && actionFor(campaign.status, patch.status);
    // A refused status throws inside this transaction: the other fields stay as they were too.
    if (fields.length) {
      await sql(
        `update warmer_campaigns set name = ?, device_id = ?, target_numbers = ?::jsonb, schedule = ?::jsonb, settings = ?::jsonb, variables = ?::jsonb, updated_at = ?
          where id = ?`,
        [changed.name, changed.deviceId, JSON.stringify(changed.targetNumbers), JSON.stringify(changed.schedule), JSON.stringify(changed.settings), JSON.stringify(changed.variables), ctx.now, id],
      );
    }
    const updated: DomainEvent[] = fields.length ? [{ type: 'warmer.campaign-updated', data: { campaignId: id, fields } }] : [];
    await transitionAndRecord(tx, changed, action, ctx, updated);
  });
}

export async function controlWarmerCampaign(ctx: WarmerContext, id: number, action: WarmerAction): Promise<void> {
  await transaction(ctx.em, async (tx) => {
    const campaign = await findWarmerCampaign(sqlOf(tx), ctx.principal, id, true);
    await transitionAndRecord(tx, campaign, action, ctx, []);
  });
}

export async function deleteWarmerCampaign(ctx: WarmerContext, id: number): Promise<void> {
  await transaction(ctx.em, async (tx) => {
    const sql = sqlOf(tx);
    const campaign = await findWarmerCampaign(sql, ctx.principal, id, true);
    await sql('delete from warmer_campaigns where id = ?', [id]);
    await appendToCampaign(tx, campaign, [{ type: 'warmer.campaign-deleted', data: { campaignId: id, jobId: waitingJobOf(campaign) } }]);
  });
}

// A script must have a bot side, and every `{variable}` it uses must be one it lists.
export async function addWarmerScript(ctx: WarmerContext, id: number, script: Script): Promise<number> {
  if (!script.messages.some((m) => m.sender === 'bot')) throw new AppError('VALIDATION_ERROR', 'messages: a conversation needs at least one message from the bot');
  const unlisted = [...new Set(script.messages.flatMap((m) => placeholdersOf(m.message)))].filter((name) => !script.variables.includes(name));
  if (unlisted.length) throw new AppError('VALIDATION_ERROR', `variables: the messages use {${unlisted.join('}, {')}}, which variables does not list`);
  return transaction(ctx.em, async (tx) => {
    const sql = sqlOf(tx);
    const campaign = await findWarmerCampaign(sql, ctx.principal, id, true);
    const [row] = await sql('insert into warmer_scripts (campaign_id, name, messages, variables, created_at) values (?, ?, ?::jsonb, ?::jsonb, ?) returning id', [
      id,
      script.name,
      JSON.stringify(script.messages),
      JSON.stringify(script.variables),
      ctx.now,
    ]);
    const templateId = Number(row!.id);
    await appendToCampaign(tx, campaign, [{ type: 'warmer.template-added', data: { campaignId: id, templateId, name: script.name } }]);
    return templateId;
  });
}

export async function campaignsOf(em: EntityManager, principal: Principal): Promise<WarmerCampaign[]> {
  const rows = await sqlOf(em)(
    'select * from warmer_campaigns where (?::int is null or user_id = ?) and (?::int[] is null or device_id = any(?::int[])) order by id',
    reachOf(principal),
  );
  return rows.map(campaignOf);
}
