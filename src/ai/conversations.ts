import type { EntityManager } from '@mikro-orm/postgresql';
import { transaction } from '../db/transactions.ts';
import { decodeCursor, encodeCursor } from '../db/keyset-cursor.ts';
import { DEFAULT_DEVICE_SETTINGS, triggerProblem, type AiChatSettings, type AiDeviceSettings, type ChatChange, type ConversationStatus } from '../domain/ai.ts';
import { AppError } from '../domain/errors.ts';
import { sqlOf, type EventMetadata } from '../events/event-store.ts';
import { resolveModel } from './catalog.ts';
import { streamOf } from '../domain/events.ts';
import { chatDigest, chatRowOf, deviceSettings, findChat, lockChat, recordChatChanges, saveChatSettings, saveChatState, saveDeviceSettings, type ChatRow } from './chats.ts';

// What the API changes and reads of the AI's settings and conversations (seed 004's AI Features). Changes to a
// conversation are made under the chat's lock and recorded as events, as the reactor's are.

export interface AiDevice {
  id: number;
  userId: number;
  sessionId: string;
}

const metadataOf = (device: AiDevice): EventMetadata => ({ tenantId: device.userId, deviceId: device.id, sessionId: device.sessionId });

export async function settingsOf(em: EntityManager, deviceId: number): Promise<AiDeviceSettings> {
  return (await deviceSettings(sqlOf(em), deviceId)) ?? DEFAULT_DEVICE_SETTINGS;
}

// A patch over the current settings; the result must name a usable model whenever the AI is on.
export async function updateSettings(em: EntityManager, encryptionKey: Buffer, deviceId: number, patch: Partial<AiDeviceSettings>): Promise<AiDeviceSettings> {
  const next = { ...(await settingsOf(em, deviceId)), ...patch };
  const problem = triggerProblem(next.trigger);
  if (problem) throw new AppError('INVALID_AI_CONFIG', problem);
  if (next.aiEnabled || next.provider || next.model) {
    if (!next.provider || !next.model) throw new AppError('INVALID_AI_CONFIG', 'Name both provider and model (GET /api/whatsapp/ai/providers lists them) to enable AI replies');
    await resolveModel(em, encryptionKey, next.provider, next.model);
  }
  await saveDeviceSettings(sqlOf(em), deviceId, next);
  return next;
}

export interface ChatPatch extends AiChatSettings {
  status?: ConversationStatus;
  // With status `paused`: for this long (absent: until resumed).
  pauseMinutes?: number;
}

// A chat's settings and, when asked, its conversation status.
export async function updateChat(em: EntityManager, device: AiDevice, chatJid: string, patch: ChatPatch, now: Date): Promise<ChatRow> {
  const { status, pauseMinutes, ...settings } = patch;
  return transaction(em, async (tx) => {
    const sql = sqlOf(tx);
    const chat = await lockChat(sql, device.id, chatJid);
    await saveChatSettings(sql, device.id, chatJid, { ...chat.settings, ...settings });
    if (status) {
      const changes: ChatChange[] = [];
      let state = { ...chat };
      if (status === 'paused') {
        const until = pauseMinutes ? new Date(now.getTime() + pauseMinutes * 60_000) : null;
        changes.push({ type: 'ai.paused', reason: 'api', ...(until ? { until: until.toISOString() } : {}) });
        state = { ...state, status, pausedUntil: until, burst: null };
      } else if (status === 'open' && chat.status !== 'open') {
        changes.push({ type: 'ai.resumed', reason: 'api' });
        state = { ...state, status, pausedUntil: null, memorySince: chat.status === 'closed' ? now : chat.memorySince, lastActivityAt: now };
      } else if (status === 'closed' && chat.status !== 'closed') {
        changes.push({ type: 'ai.closed', reason: 'api' });
        state = { ...state, status, pausedUntil: null, burst: null };
      }
      await saveChatState(sql, device.id, chatJid, state, changes.length ? 'api' : chat.statusReason);
      await recordChatChanges(tx, metadataOf(device), chatJid, changes, `ai-api:${chatJid}:${now.toISOString()}:${status}`);
    }
    const [row] = await sql('select * from ai_chats where device_id = ? and chat_jid = ?', [device.id, chatJid]);
    return chatRowOf(row!);
  });
}

// The chat's memory starts afresh: the model sees nothing written before now.
export async function clearMemory(em: EntityManager, device: AiDevice, chatJid: string, now: Date): Promise<void> {
  await transaction(em, async (tx) => {
    const sql = sqlOf(tx);
    const chat = await lockChat(sql, device.id, chatJid);
    await saveChatState(sql, device.id, chatJid, { ...chat, memorySince: now }, chat.statusReason);
    await recordChatChanges(tx, metadataOf(device), chatJid, [{ type: 'ai.memory-cleared' }], `ai-memory:${chatJid}:${now.toISOString()}`);
  });
}

export async function chatOf(em: EntityManager, deviceId: number, chatJid: string): Promise<ChatRow> {
  return findChat(sqlOf(em), deviceId, chatJid);
}

export async function chatsOf(em: EntityManager, deviceId: number, limit: number, cursor: string | undefined): Promise<{ items: ChatRow[]; nextCursor: string | null }> {
  const after = decodeCursor(cursor);
  const rows = await sqlOf(em)(
    `select * from ai_chats where device_id = ? and (?::timestamptz is null or (updated_at, chat_jid) < (?::timestamptz, ?))
      order by updated_at desc, chat_jid desc limit ?`,
    [deviceId, after?.[0] ?? null, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  const items = rows.slice(0, limit).map(chatRowOf);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.updatedAt.toISOString(), last.chatJid) : null };
}

export interface ConversationMessage {
  messageId: string;
  role: 'user' | 'assistant';
  text: string;
  status: string;
  at: string;
}

// The conversation the model remembers: messages of the chat since its memory began, oldest first.
export async function conversationOf(em: EntityManager, deviceId: number, chat: ChatRow, limit: number): Promise<ConversationMessage[]> {
  const rows = await sqlOf(em)(
    `select message_id, direction, body, status, created_at from message_status
      where device_id = ? and chat_jid = ? and body is not null and created_at >= ? order by created_at desc limit ?`,
    [deviceId, chat.chatJid, (chat.memorySince ?? new Date(0)).toISOString(), limit],
  );
  return rows.reverse().map((row) => ({
    messageId: String(row.message_id),
    role: row.direction === 'in' ? 'user' : 'assistant',
    text: String(row.body),
    status: String(row.status),
    at: new Date(row.created_at as string).toISOString(),
  }));
}

export interface ChatStats {
  messagesReceived: number;
  messagesSent: number;
  aiReplies: number;
  aiFailures: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
}

export async function chatStats(em: EntityManager, deviceId: number, chatJid: string): Promise<ChatStats> {
  const sql = sqlOf(em);
  const [messages] = await sql(
    `select count(*) filter (where direction = 'in') as received, count(*) filter (where direction = 'out') as sent from message_status where device_id = ? and chat_jid = ?`,
    [deviceId, chatJid],
  );
  const [ai] = await sql(
    `select count(*) filter (where type = 'ai.replied') as replies, count(*) filter (where type = 'ai.failed') as failures from events where stream_id = ?`,
    [streamOf.aiChat(deviceId, chatDigest(chatJid))],
  );
  const [usage] = await sql(
    `select coalesce(sum(input_tokens), 0) as input, coalesce(sum(output_tokens), 0) as output, coalesce(sum(cost), 0) as cost from ai_usage_logs where device_id = ? and chat_jid = ?`,
    [deviceId, chatJid],
  );
  return {
    messagesReceived: Number(messages?.received ?? 0),
    messagesSent: Number(messages?.sent ?? 0),
    aiReplies: Number(ai?.replies ?? 0),
    aiFailures: Number(ai?.failures ?? 0),
    inputTokens: Number(usage?.input ?? 0),
    outputTokens: Number(usage?.output ?? 0),
    cost: Number(usage?.cost ?? 0),
  };
}
