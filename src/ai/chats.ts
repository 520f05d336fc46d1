import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { DEFAULT_DEVICE_SETTINGS, NEW_CHAT, type AiChatSettings, type AiChatState, type AiDeviceSettings, type ChatChange } from '../domain/ai.ts';
import { streamOf, type DomainEvent } from '../domain/events.ts';
import { eventIdOf } from '../events/event-ids.ts';
import { appendToStream, type EventMetadata, type Row, type Sql } from '../events/event-store.ts';

// The AI's rows: a device's settings (one JSON document, defaults filled in on read so new settings need no
// migration) and each chat's settings and conversation state.

export const chatDigest = (chatJid: string) => createHash('sha256').update(chatJid).digest('base64url').slice(0, 16);

export async function deviceSettings(sql: Sql, deviceId: number): Promise<AiDeviceSettings | undefined> {
  const [row] = await sql('select settings from ai_device_settings where device_id = ?', [deviceId]);
  return row ? { ...DEFAULT_DEVICE_SETTINGS, ...(row.settings as Partial<AiDeviceSettings>) } : undefined;
}

// Of these devices, those whose AI is on for some chat: a device's own switch, or a chat's override. One query per
// batch of the reactor, so devices without AI cost nothing more.
export async function devicesWithAi(sql: Sql, deviceIds: number[]): Promise<Map<number, AiDeviceSettings>> {
  if (!deviceIds.length) return new Map();
  const rows = await sql(
    `select device_id, settings from ai_device_settings s where device_id in (?)
       and ((settings->>'aiEnabled')::boolean or exists (select 1 from ai_chats c where c.device_id = s.device_id and (c.settings->>'aiEnabled')::boolean))`,
    [deviceIds],
  );
  return new Map(rows.map((row) => [Number(row.device_id), { ...DEFAULT_DEVICE_SETTINGS, ...(row.settings as Partial<AiDeviceSettings>) }]));
}

export async function saveDeviceSettings(sql: Sql, deviceId: number, settings: AiDeviceSettings): Promise<void> {
  await sql(
    `insert into ai_device_settings (device_id, settings, updated_at) values (?, ?::jsonb, now())
       on conflict (device_id) do update set settings = excluded.settings, updated_at = now()`,
    [deviceId, JSON.stringify(settings)],
  );
}

export interface ChatRow extends AiChatState {
  deviceId: number;
  chatJid: string;
  settings: AiChatSettings;
  statusReason: string | null;
  updatedAt: Date;
}

const date = (value: unknown) => (value ? new Date(value as string) : null);

export function chatRowOf(row: Row): ChatRow {
  return {
    deviceId: Number(row.device_id),
    chatJid: String(row.chat_jid),
    settings: row.settings as AiChatSettings,
    status: row.status as ChatRow['status'],
    statusReason: (row.status_reason as string | null) ?? null,
    pausedUntil: date(row.paused_until),
    memorySince: date(row.memory_since),
    lastActivityAt: date(row.last_activity_at),
    burst: (row.burst as ChatRow['burst']) ?? null,
    replies: (row.replies as string[]) ?? [],
    updatedAt: date(row.updated_at)!,
  };
}

// The chat's row, locked for the rest of the transaction (made first if the chat has none): the reactor and the
// reply job change a conversation one at a time.
export async function lockChat(sql: Sql, deviceId: number, chatJid: string): Promise<ChatRow> {
  await sql('insert into ai_chats (device_id, chat_jid) values (?, ?) on conflict do nothing', [deviceId, chatJid]);
  const [row] = await sql('select * from ai_chats where device_id = ? and chat_jid = ? for update', [deviceId, chatJid]);
  return chatRowOf(row!);
}

export async function findChat(sql: Sql, deviceId: number, chatJid: string): Promise<ChatRow> {
  const [row] = await sql('select * from ai_chats where device_id = ? and chat_jid = ?', [deviceId, chatJid]);
  return row ? chatRowOf(row) : { ...NEW_CHAT, deviceId, chatJid, settings: {}, statusReason: null, updatedAt: new Date(0) };
}

export async function saveChatState(sql: Sql, deviceId: number, chatJid: string, state: AiChatState, statusReason: string | null): Promise<void> {
  await sql(
    `update ai_chats set status = ?, status_reason = ?, paused_until = ?, memory_since = ?, last_activity_at = ?, burst = ?::jsonb, replies = ?::jsonb, updated_at = now()
       where device_id = ? and chat_jid = ?`,
    [
      state.status,
      statusReason,
      state.pausedUntil?.toISOString() ?? null,
      state.memorySince?.toISOString() ?? null,
      state.lastActivityAt?.toISOString() ?? null,
      state.burst ? JSON.stringify(state.burst) : null,
      JSON.stringify(state.replies),
      deviceId,
      chatJid,
    ],
  );
}

export async function saveChatSettings(sql: Sql, deviceId: number, chatJid: string, settings: AiChatSettings): Promise<void> {
  await sql(
    `insert into ai_chats (device_id, chat_jid, settings) values (?, ?, ?::jsonb)
       on conflict (device_id, chat_jid) do update set settings = excluded.settings, updated_at = now()`,
    [deviceId, chatJid, JSON.stringify(settings)],
  );
}

// The reason a status shows beside it (why a chat is paused or closed).
export function reasonOf(changes: ChatChange[], fallback: string | null): string | null {
  const last = changes.findLast((change) => 'reason' in change);
  return last && 'reason' in last ? last.reason : fallback;
}

// Conversation changes as events on the chat's stream. `cause` makes their ids: a batch the runner applies again, or
// a job run again, records nothing twice.
export async function recordChatChanges(em: EntityManager, metadata: EventMetadata, chatJid: string, changes: ChatChange[], cause: string): Promise<void> {
  if (!changes.length) return;
  await appendToStream(
    em,
    streamOf.aiChat(metadata.deviceId!, chatDigest(chatJid)),
    changes.map(({ type, ...data }, index) => ({ eventId: eventIdOf(`${cause}:${type}:${index}`), event: { type, data: { chatJid, ...data } } as DomainEvent })),
    { expectedVersion: 'any', metadata },
  );
}
