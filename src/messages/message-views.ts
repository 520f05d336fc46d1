import { decodeCursor, encodeCursor } from '../db/keyset-cursor.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { reachesDevice, type Principal } from '../auth/context.ts';
import { AppError } from '../domain/errors.ts';
import { streamOf } from '../domain/events.ts';
import { foldStatus } from '../domain/message-status.ts';
import type { MessageRef } from '../domain/messages.ts';
import { readStream, sqlOf, type Row } from '../events/event-store.ts';

// Messages as the API shows them, from the messages read model (the log is the fallback for a message queued a
// moment ago that the projection has not reached yet).

export interface MessageRow {
  messageId: string;
  tenantId: number;
  deviceId: number | null;
  status: string;
  direction: 'in' | 'out';
  chatJid: string | null;
  sender: string | null;
  senderLid: string | null;
  contentType: string | null;
  body: string | null;
  fileId: string | null;
  waMessageId: string | null;
  error: string | null;
  heldReason: string | null;
  createdAt: string | null;
  queuedAt: string | null;
  sentAt: string | null;
  deliveredAt: string | null;
  readAt: string | null;
  playedAt: string | null;
  failedAt: string | null;
  receivedAt: string | null;
}

const iso = (value: unknown) => (value === null || value === undefined ? null : new Date(String(value)).toISOString());

// A chat or sender named by LID alone is shown by number when the user's LID map knows it (the lid-mappings
// projection), so what arrived before the number was known joins the number's chat.
const mapped = (column: string) => `(select m.pn from lid_mappings m where m.tenant_id = message_status.tenant_id and m.lid = message_status.${column})`;
const BY_NUMBER = `${mapped('sender')} as sender_pn, ${mapped('chat_jid')} as chat_pn`;

export function messageRowOf(row: Row): MessageRow {
  return {
    messageId: String(row.message_id),
    tenantId: Number(row.tenant_id),
    deviceId: row.device_id === null ? null : Number(row.device_id),
    status: String(row.status),
    direction: row.direction === 'in' ? 'in' : 'out',
    chatJid: ((row.chat_pn ?? row.chat_jid) as string | null) ?? null,
    sender: ((row.sender_pn ?? row.sender) as string | null) ?? null,
    senderLid: (row.sender_lid as string | null) ?? null,
    contentType: (row.content_type as string | null) ?? null,
    body: (row.body as string | null) ?? null,
    fileId: (row.file_id as string | null) ?? null,
    waMessageId: (row.wa_message_id as string | null) ?? null,
    error: (row.error as string | null) ?? null,
    heldReason: (row.held_reason as string | null) ?? null,
    createdAt: iso(row.created_at),
    queuedAt: iso(row.queued_at),
    sentAt: iso(row.sent_at),
    deliveredAt: iso(row.delivered_at),
    readAt: iso(row.read_at),
    playedAt: iso(row.played_at),
    failedAt: iso(row.failed_at),
    receivedAt: iso(row.received_at),
  };
}

const visibleTo = (principal: Principal, tenantId: number, deviceId: number | null | undefined) =>
  (principal.role === 'admin' || tenantId === principal.userId) && reachesDevice(principal, deviceId);

export async function findMessage(em: EntityManager, principal: Principal, messageId: string): Promise<MessageRow> {
  const [row] = await sqlOf(em)('select * from message_status where message_id = ?', [messageId]);
  if (row) {
    const message = messageRowOf(row);
    if (visibleTo(principal, message.tenantId, message.deviceId)) return message;
  } else {
    const events = await readStream(em, streamOf.message(messageId));
    const first = events[0];
    if (first && visibleTo(principal, first.metadata.tenantId ?? -1, first.metadata.deviceId)) {
      const at = first.recordedAt.toISOString();
      return {
        ...messageRowOf({ message_id: messageId, tenant_id: first.metadata.tenantId!, device_id: first.metadata.deviceId ?? null, direction: 'out' }),
        status: foldStatus(events.map((e) => e.type)) ?? 'queued',
        chatJid: typeof first.data.to === 'string' ? first.data.to : null,
        // What a reply or reaction needs of a message it refers to, before the read model has it.
        waMessageId: waMessageIdIn(events),
        createdAt: at,
        queuedAt: at,
      };
    }
  }
  throw new AppError('MESSAGE_NOT_FOUND', `Message ${messageId} not found`);
}

function waMessageIdIn(events: { type: string; data: Record<string, unknown> }[]): string | null {
  const sent = events.findLast((e) => e.type === 'message.sent')?.data.waMessageId;
  return typeof sent === 'string' ? sent : null;
}

// A message another one refers to (reply, reaction, edit, delete) by its WhatsApp key. It must have reached
// WhatsApp: a message still queued has no key yet.
export function refOf(message: MessageRow): MessageRef {
  if (!message.waMessageId || !message.chatJid) {
    throw new AppError('VALIDATION_ERROR', `Message ${message.messageId} has not reached WhatsApp yet, so nothing can refer to it`);
  }
  const inGroup = message.chatJid.endsWith('@g.us');
  return {
    waMessageId: message.waMessageId,
    chatJid: message.chatJid,
    fromMe: message.direction === 'out',
    ...(inGroup && message.direction === 'in' && message.sender ? { participant: message.sender } : {}),
    ...(message.body ? { text: message.body } : {}),
  };
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

// Newest first, by (created_at, message_id).
async function page(em: EntityManager, where: string, params: unknown[], limit: number, cursor?: string): Promise<Page<MessageRow>> {
  const after = decodeCursor(cursor);
  const rows = await sqlOf(em)(
    `select *, ${BY_NUMBER} from message_status where ${where} ${after ? 'and (created_at, message_id) < (?::timestamptz, ?)' : ''}
      order by created_at desc, message_id desc limit ?`,
    [...params, ...(after ?? []), limit + 1],
  );
  const items = rows.slice(0, limit).map(messageRowOf);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt ?? '', last.messageId) : null };
}

// One chat of one device, both directions. A contact may be named by phone number or by LID.
export function chatHistory(em: EntityManager, deviceId: number, chatJid: string, limit: number, cursor?: string): Promise<Page<MessageRow>> {
  const byLid = `chat_jid in (select m.lid from lid_mappings m where m.tenant_id = message_status.tenant_id and m.pn = ?)`;
  return page(em, `device_id = ? and (chat_jid = ? or sender_lid = ? or ${byLid})`, [deviceId, chatJid, chatJid, chatJid], limit, cursor);
}

// `device_id` among a bound credential's devices, as SQL and its parameters (nothing for an unbound one).
function amongDevices(deviceIds: readonly number[] | undefined): { where: string[]; params: number[] } {
  if (deviceIds === undefined) return { where: [], params: [] };
  return { where: [deviceIds.length ? `device_id in (${deviceIds.map(() => '?').join(', ')})` : 'false'], params: [...deviceIds] };
}

// A user's messages across devices (seed 004's message logs), optionally of one status, within the devices a
// bound credential sees.
export function messageLogs(
  em: EntityManager,
  tenantId: number,
  filter: { status?: string; deviceId?: number; deviceIds?: readonly number[] },
  limit: number,
  cursor?: string,
): Promise<Page<MessageRow>> {
  const among = amongDevices(filter.deviceIds);
  const where = ['tenant_id = ?', ...(filter.status ? ['status = ?'] : []), ...(filter.deviceId === undefined ? [] : ['device_id = ?']), ...among.where].join(' and ');
  const params = [tenantId, ...(filter.status ? [filter.status] : []), ...(filter.deviceId === undefined ? [] : [filter.deviceId]), ...among.params];
  return page(em, where, params, limit, cursor);
}

export interface SendingStats {
  totalSent: number;
  totalFailed: number;
  successRate: number;
  today: { sent: number; failed: number };
  thisWeek: { sent: number; failed: number };
  byStatus: { queued: number; sent: number; delivered: number; read: number; played: number; failed: number; received: number };
}

// Seed 004's sending statistics, from the daily stats projection: each message counts once at every step it reached.
export async function sendingStats(em: EntityManager, tenantId: number, now: Date, deviceIds?: readonly number[]): Promise<SendingStats> {
  const among = amongDevices(deviceIds);
  const today = now.toISOString().slice(0, 10);
  const weekAgo = new Date(now.getTime() - 6 * 86_400_000).toISOString().slice(0, 10);
  const [row] = await sqlOf(em)(
    `select coalesce(sum(queued), 0) as queued, coalesce(sum(sent), 0) as sent, coalesce(sum(delivered), 0) as delivered,
            coalesce(sum(read), 0) as read, coalesce(sum(played), 0) as played, coalesce(sum(failed), 0) as failed,
            coalesce(sum(received), 0) as received,
            coalesce(sum(sent) filter (where day = ?), 0) as today_sent, coalesce(sum(failed) filter (where day = ?), 0) as today_failed,
            coalesce(sum(sent) filter (where day >= ?), 0) as week_sent, coalesce(sum(failed) filter (where day >= ?), 0) as week_failed
       from message_stats_daily where ${['tenant_id = ?', ...among.where].join(' and ')}`,
    [today, today, weekAgo, weekAgo, tenantId, ...among.params],
  );
  const n = (key: string) => Number(row?.[key] ?? 0);
  const totalSent = n('sent');
  const totalFailed = n('failed');
  return {
    totalSent,
    totalFailed,
    successRate: totalSent + totalFailed ? Math.round((totalSent / (totalSent + totalFailed)) * 10_000) / 100 : 0,
    today: { sent: n('today_sent'), failed: n('today_failed') },
    thisWeek: { sent: n('week_sent'), failed: n('week_failed') },
    byStatus: { queued: n('queued'), sent: totalSent, delivered: n('delivered'), read: n('read'), played: n('played'), failed: totalFailed, received: n('received') },
  };
}

export interface ChatSummary {
  chatJid: string;
  isGroup: boolean;
  messages: number;
  lastMessageAt: string;
  lastMessage: { messageId: string; direction: 'in' | 'out'; body: string | null; status: string };
}

// A device's chats from its messages, the most recently active first.
export async function chatsOf(em: EntityManager, deviceId: number, limit: number): Promise<ChatSummary[]> {
  const rows = await sqlOf(em)(
    `select chat as chat_jid, count(*)::int as messages, max(created_at) as last_at,
            (array_agg(message_id order by created_at desc, message_id desc))[1] as last_id,
            (array_agg(direction order by created_at desc, message_id desc))[1] as last_direction,
            (array_agg(body order by created_at desc, message_id desc))[1] as last_body,
            (array_agg(status order by created_at desc, message_id desc))[1] as last_status
       from (select message_status.*, coalesce(${mapped('chat_jid')}, chat_jid) as chat from message_status where device_id = ? and chat_jid is not null) s
      group by chat order by max(created_at) desc limit ?`,
    [deviceId, limit],
  );
  return rows.map((r) => ({
    chatJid: String(r.chat_jid),
    isGroup: String(r.chat_jid).endsWith('@g.us'),
    messages: Number(r.messages),
    lastMessageAt: new Date(String(r.last_at)).toISOString(),
    lastMessage: { messageId: String(r.last_id), direction: r.last_direction === 'in' ? 'in' : 'out', body: (r.last_body as string | null) ?? null, status: String(r.last_status) },
  }));
}
