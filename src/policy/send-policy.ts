import type { EntityManager } from '@mikro-orm/postgresql';
import {
  capsOn,
  dayIn,
  daysBetween,
  decide,
  DEFAULT_POLICY,
  healthScore,
  levelOf,
  pauseToEnter,
  type Decision,
  type HealthPause,
  type PolicySettings,
  type SendKind,
  type Signal,
  type SignalKind,
} from '../domain/send-policy.ts';
import { streamOf, type DomainEvent } from '../domain/events.ts';
import { eventIdOf } from '../events/event-ids.ts';
import { appendToStream, sqlOf, type Sql } from '../events/event-store.ts';
import { transaction } from '../db/transactions.ts';

// The facts the send policy decides on, read for one device, and the pauses it records. The sender reads and
// writes through here; so do the policy routes and the maintenance job that ends lapsed pauses.

export interface PolicyDevice {
  id: number;
  userId: number;
  sessionId: string;
}

export interface PolicyRow {
  settings: PolicySettings;
  heldByOwner: boolean;
  pause: HealthPause | null;
  firstContactsPausedUntil: Date | null;
  // Risk signals before this were answered by a pause the number served.
  signalsSince: Date | null;
}

const SIGNAL_LOOKBACK_MS = 2 * 3_600_000;

// Settings as stored (only what the owner changed) over the defaults; the ramp counts from the device's creation.
export async function policyOf(sql: Sql, deviceId: number, timeZone: string): Promise<PolicyRow> {
  const [row] = await sql(
    `select d.created_at, p.settings, p.held_by_owner, p.pause_level, p.pause_until, p.pause_reason, p.first_contacts_paused_until, p.signals_since
       from devices d left join device_send_policies p on p.device_id = d.id where d.id = ?`,
    [deviceId],
  );
  const own = (row?.settings ?? {}) as Partial<PolicySettings>;
  const created = row ? new Date(row.created_at as string) : new Date();
  const zone = own.timeZone ?? timeZone;
  return {
    settings: { ...DEFAULT_POLICY, warmupFrom: dayIn(zone, created).day, timeZone: zone, ...own },
    heldByOwner: Boolean(row?.held_by_owner),
    pause: row?.pause_level ? { level: row.pause_level as HealthPause['level'], until: new Date(row.pause_until as string), reason: String(row.pause_reason) } : null,
    firstContactsPausedUntil: row?.first_contacts_paused_until ? new Date(row.first_contacts_paused_until as string) : null,
    signalsSince: row?.signals_since ? new Date(row.signals_since as string) : null,
  };
}

// Signals count from the end of the last pause served (one that has lapsed but is not yet closed included).
function countingSince(policy: PolicyRow, now: Date): Date | null {
  const lapsed = policy.pause && policy.pause.until <= now ? policy.pause.until : null;
  if (!lapsed) return policy.signalsSince;
  return policy.signalsSince && policy.signalsSince > lapsed ? policy.signalsSince : lapsed;
}

function signalKind(type: string, code: string | null, reason: string | null): SignalKind | undefined {
  if (type === 'message.refused') return code === '463' ? 'reach-out-locked' : 'send-failed';
  // A message that failed because its device was gone or logged out is that signal's, not another one.
  if (type === 'message.failed') return code === 'MESSAGE_SEND_FAILED' || code === 'WHATSAPP_REFUSED' ? 'send-failed' : undefined;
  if (type === 'device.disconnected') return code !== null && code !== '515' ? 'disconnected' : undefined;
  if (type === 'device.logged-out') return reason === 'forbidden' ? 'forbidden' : reason === 'logged-out' ? 'logged-out' : undefined;
  return undefined;
}

export interface SendFacts {
  sentToday: number;
  firstContactsToday: number;
  signals: Signal[];
  // Of the chat asked about: whether it has had a message either way before this one, and whether its last was the
  // contact's (a reply to someone who wrote last is what the policy lets through first).
  firstContact: boolean;
  theyWroteLast: boolean;
}

// What the policy decides on, in one statement: today's sends (their `day`, by the platform's clock; the time bound
// only narrows the index scan), the risk signals in the log since `since` (463 refusals, failed sends, connection
// drops but not the 515 restart after linking nor stops, logouts by WhatsApp: 401, and 403 for a banned number),
// and the chat's last message.
export async function sendFactsOf(sql: Sql, deviceId: number, policy: PolicyRow, now: Date, chat?: { jid: string; messageId: string }): Promise<SendFacts> {
  const { day } = dayIn(policy.settings.timeZone, now);
  const lookback = new Date(now.getTime() - SIGNAL_LOOKBACK_MS);
  const since = countingSince(policy, now);
  const [row] = await sql(
    `select today.sent, today.first, last_message.direction, coalesce(risks.signals, '[]'::jsonb) as signals
       from (select count(*)::int as sent, count(*) filter (where data->>'firstContact' = 'true')::int as first
               from events where device_id = ? and type = 'message.sent' and recorded_at >= ? and data->>'day' = ?) today
       cross join (select jsonb_agg(jsonb_build_array(type, recorded_at, data->>'code', data->>'reason')) as signals from events
                    where device_id = ? and type in ('message.refused', 'message.failed', 'device.disconnected', 'device.logged-out') and recorded_at > ?) risks
       left join lateral (select direction from message_status
                           where device_id = ? and chat_jid = ? and message_id <> ? and (direction = 'in' or sent_at is not null)
                           order by created_at desc limit 1) last_message on true`,
    [
      deviceId,
      new Date(now.getTime() - 2 * 86_400_000).toISOString(),
      day,
      deviceId,
      (since && since > lookback ? since : lookback).toISOString(),
      deviceId,
      chat?.jid ?? null,
      chat?.messageId ?? null,
    ],
  );
  const signals = (row!.signals as [string, string, string | null, string | null][]).flatMap(([type, at, code, reason]): Signal[] => {
    const kind = signalKind(type, code, reason);
    return kind ? [{ kind, at: new Date(at) }] : [];
  });
  return { sentToday: Number(row!.sent), firstContactsToday: Number(row!.first), signals, firstContact: !row!.direction, theyWroteLast: row!.direction === 'in' };
}

export function kindOf(queued: { campaignId?: string; origin?: string }, theyWroteLast: boolean): SendKind {
  if (queued.campaignId) return 'bulk';
  if (queued.origin === 'warmer') return 'warmer';
  return theyWroteLast ? 'reply' : 'message';
}

const metadataOf = (device: PolicyDevice) => ({ tenantId: device.userId, deviceId: device.id, sessionId: device.sessionId });

async function appendToDevice(em: EntityManager, device: PolicyDevice, eventId: string, event: DomainEvent) {
  await appendToStream(em, `device-${device.id}`, [{ eventId: eventIdOf(eventId), event }], { expectedVersion: 'any', metadata: metadataOf(device) });
}

async function ensureRow(sql: Sql, deviceId: number) {
  await sql('insert into device_send_policies (device_id) values (?) on conflict (device_id) do nothing', [deviceId]);
}

// The number enters a health pause (the score reached a threshold), announced once.
export async function enterPause(em: EntityManager, device: PolicyDevice, pause: HealthPause): Promise<void> {
  await transaction(em, async (tx) => {
    const sql = sqlOf(tx);
    await ensureRow(sql, device.id);
    await sql('update device_send_policies set pause_level = ?, pause_until = ?, pause_reason = ?, updated_at = now() where device_id = ?', [
      pause.level,
      pause.until.toISOString(),
      pause.reason,
      device.id,
    ]);
    await appendToDevice(tx, device, `send-paused:${device.id}:${pause.level}:${pause.until.toISOString()}`, {
      type: 'device.send-paused',
      data: { scope: 'health', level: pause.level, until: pause.until.toISOString(), reason: pause.reason },
    });
  });
}

// WhatsApp answered a message with 463: the refusal is recorded on the message (which waits to go again), and first
// contacts of the number pause, in one transaction so the next job already sees the pause.
export async function recordReachOutLock(em: EntityManager, device: PolicyDevice, messageId: string, attempt: string, until: Date): Promise<void> {
  await transaction(em, async (tx) => {
    const sql = sqlOf(tx);
    const reason = 'WhatsApp refused a first message to a new contact (463: the reach-out time-lock)';
    await appendToStream(tx, streamOf.message(messageId), [{ eventId: eventIdOf(`${messageId}:refused:${attempt}`), event: { type: 'message.refused', data: { messageId, code: '463', reason } } }], {
      expectedVersion: 'any',
      metadata: metadataOf(device),
    });
    await ensureRow(sql, device.id);
    await sql('update device_send_policies set first_contacts_paused_until = greatest(coalesce(first_contacts_paused_until, ?), ?), updated_at = now() where device_id = ?', [
      until.toISOString(),
      until.toISOString(),
      device.id,
    ]);
    await appendToDevice(tx, device, `send-paused:${device.id}:first-contacts:${attempt}`, {
      type: 'device.send-paused',
      data: { scope: 'first-contacts', until: until.toISOString(), reason: `${reason}: first messages to new contacts wait; replies in existing chats still go` },
    });
  });
}

// Pauses whose time is up end, each with its event (the maintenance job runs this every few seconds). Whichever
// process runs it first ends a pause; the row's update is the claim, so none is announced twice.
export async function endLapsedPauses(em: EntityManager, now: Date): Promise<number> {
  return transaction(em, async (tx) => {
    const sql = sqlOf(tx);
    const at = now.toISOString();
    const health = await sql(
      `update device_send_policies p set pause_level = null, pause_until = null, pause_reason = null, signals_since = p.pause_until, updated_at = now()
        from devices d where d.id = p.device_id and p.pause_level is not null and p.pause_until <= ?
        returning p.device_id, d.user_id, d.session_id, p.pause_until`,
      [at],
    );
    const firsts = await sql(
      `update device_send_policies p set first_contacts_paused_until = null, updated_at = now()
        from devices d where d.id = p.device_id and p.first_contacts_paused_until <= ?
        returning p.device_id, d.user_id, d.session_id, p.first_contacts_paused_until as pause_until`,
      [at],
    );
    for (const [scope, rows] of [['health', health], ['first-contacts', firsts]] as const) {
      for (const row of rows) {
        const device = { id: Number(row.device_id), userId: Number(row.user_id), sessionId: String(row.session_id) };
        const until = new Date(row.pause_until as string).toISOString();
        await appendToDevice(tx, device, `send-resumed:${device.id}:${scope}:${until}`, { type: 'device.send-resumed', data: { scope, reason: 'the pause ended' } });
      }
    }
    return health.length + firsts.length;
  });
}

// The owner holds the number's sending, or lets it go: resuming also ends any pause the policy put it in.
export async function setOwnerHold(em: EntityManager, device: PolicyDevice, held: boolean, now: Date): Promise<void> {
  await transaction(em, async (tx) => {
    const sql = sqlOf(tx);
    await ensureRow(sql, device.id);
    const [before] = await sql('select held_by_owner, pause_level, first_contacts_paused_until from device_send_policies where device_id = ? for update', [device.id]);
    const wasPaused = Boolean(before!.held_by_owner || before!.pause_level || before!.first_contacts_paused_until);
    if (held) {
      await sql('update device_send_policies set held_by_owner = true, updated_at = now() where device_id = ?', [device.id]);
      if (!before!.held_by_owner) {
        await appendToDevice(tx, device, `send-paused:${device.id}:owner:${now.toISOString()}`, { type: 'device.send-paused', data: { scope: 'all', reason: 'paused by its owner' } });
      }
      return;
    }
    await sql(
      `update device_send_policies set held_by_owner = false, pause_level = null, pause_until = null, pause_reason = null, first_contacts_paused_until = null,
         signals_since = case when pause_level is null then signals_since else ? end, updated_at = now() where device_id = ?`,
      [now.toISOString(), device.id],
    );
    if (wasPaused) {
      await appendToDevice(tx, device, `send-resumed:${device.id}:owner:${now.toISOString()}`, { type: 'device.send-resumed', data: { scope: 'all', reason: 'resumed by its owner' } });
    }
  });
}

export async function firstContactPauseMs(em: EntityManager, deviceId: number, timeZone: string): Promise<number> {
  return (await policyOf(sqlOf(em), deviceId, timeZone)).settings.firstContactPauseSeconds * 1000;
}

export async function saveSettings(sql: Sql, deviceId: number, settings: Partial<PolicySettings>): Promise<void> {
  await ensureRow(sql, deviceId);
  await sql(`update device_send_policies set settings = settings || ?::jsonb, updated_at = now() where device_id = ?`, [JSON.stringify(settings), deviceId]);
}

// What GET …/send-policy shows: the settings, today's caps and use, the health, and what holds the number if anything.
export async function policyView(em: EntityManager, deviceId: number, timeZone: string, now: Date) {
  const sql = sqlOf(em);
  const policy = await policyOf(sql, deviceId, timeZone);
  const { settings } = policy;
  const today = dayIn(settings.timeZone, now);
  const ageDays = settings.warmupFrom === null ? null : daysBetween(settings.warmupFrom, today.day);
  const caps = capsOn(settings, ageDays);
  const facts = await sendFactsOf(sql, deviceId, policy, now);
  const score = healthScore(facts.signals, now);
  const pause = policy.pause && policy.pause.until > now ? policy.pause : null;
  const firstContactsPausedUntil = policy.firstContactsPausedUntil && policy.firstContactsPausedUntil > now ? policy.firstContactsPausedUntil : null;
  const [held] = await sql(`select count(*)::int as n from message_status where device_id = ? and status = 'queued' and held_reason is not null`, [deviceId]);
  return {
    settings,
    today: { day: today.day, ageDays, dailyCap: caps.daily, sent: facts.sentToday, newContactsCap: caps.newContacts, newContacts: facts.firstContactsToday },
    health: { score, level: levelOf(score) },
    paused: {
      byOwner: policy.heldByOwner,
      health: pause && { level: pause.level, until: pause.until.toISOString(), reason: pause.reason },
      firstContactsUntil: firstContactsPausedUntil?.toISOString() ?? null,
    },
    heldMessages: Number(held?.n ?? 0),
  };
}

export interface SendCheck {
  messageId: string;
  to: string;
  campaignId?: string;
  origin?: string;
}

// The one decision every send of a session passes (its sender calls it just before handing a message over): the
// facts of the day, the number's health (entering a pause when its score calls for one) and the caps.
export interface PolicyConfig {
  timeZone: string;
  recheckMs: number;
}

export async function checkSend(em: EntityManager, device: PolicyDevice, send: SendCheck, config: PolicyConfig, now: Date): Promise<Decision & { firstContact: boolean; day: string }> {
  const { timeZone } = config;
  const sql = sqlOf(em);
  const policy = await policyOf(sql, device.id, timeZone);
  const { settings } = policy;
  const { signals, ...facts } = await sendFactsOf(sql, device.id, policy, now, { jid: send.to, messageId: send.messageId });
  const score = healthScore(signals, now);
  const entered = pauseToEnter(settings, score, policy.pause, now);
  if (entered) await enterPause(em, device, entered);
  const today = dayIn(settings.timeZone, now);
  const decision = decide(
    settings,
    {
      kind: kindOf(send, facts.theyWroteLast),
      firstContact: facts.firstContact,
      sentToday: facts.sentToday,
      firstContactsToday: facts.firstContactsToday,
      ageDays: settings.warmupFrom === null ? null : daysBetween(settings.warmupFrom, today.day),
      score,
      pause: entered ?? policy.pause,
      firstContactsPausedUntil: policy.firstContactsPausedUntil,
      heldByOwner: policy.heldByOwner,
      minuteOfDay: today.minuteOfDay,
      msToNextDay: today.msToNextDay,
    },
    now,
    config.recheckMs,
  );
  return { ...decision, firstContact: facts.firstContact, day: today.day };
}
