import type { EventPayloads } from '../../domain/events.ts';
import { advance, reachedBy, statusOf, type MessageStatus } from '../../domain/message-status.ts';
import { contentTypeOf, isMediaContent, summaryOf } from '../../domain/messages.ts';
import { quotedName } from '../../db/sql-parameters.ts';
import { releaseFileHolds } from '../../files/file-records.ts';
import type { RecordedEvent, Sql } from '../event-store.ts';
import type { Projection } from './projection.ts';

interface StatusRow {
  message_id: string;
  tenant_id: number;
  device_id: number | null;
  status: MessageStatus;
  direction: 'in' | 'out';
  chat_jid: string | null;
  sender: string | null;
  sender_lid: string | null;
  content_type: string | null;
  body: string | null;
  file_id: string | null;
  campaign_id: string | null;
  wa_message_id: string | null;
  error: string | null;
  // Why the send policy keeps a queued message waiting; cleared as soon as its status moves.
  held_reason: string | null;
  updated_at: string;
  [timestamp: `${string}_at`]: string | null;
}

const COLUMNS = [
  'message_id', 'tenant_id', 'device_id', 'status', 'direction', 'chat_jid', 'sender', 'sender_lid', 'content_type', 'body', 'file_id',
  'wa_message_id', 'error', 'held_reason', 'campaign_id', 'created_at', 'queued_at', 'sent_at', 'delivered_at', 'read_at', 'played_at', 'failed_at',
  'cancelled_at', 'received_at', 'updated_at',
] as const;

const ENDED = new Set<MessageStatus>(['sent', 'delivered', 'read', 'played', 'failed', 'cancelled']);

// A day's counts of one device of a user, by status reached.
interface DailyCount {
  tenant: number;
  device: number;
  day: string;
  reached: Partial<Record<MessageStatus, number>>;
}

// Two read models from one fold over the message events, in log order:
// - message_status: per message, its current status and when it reached each one;
// - message_stats_daily: per user, device (0: none) and UTC day, how many messages reached each status.
// A status counts once, when the message reaches it (a skipped step counts as reached): a late or repeated receipt
// changes neither. What the owner wrote outside the platform is history, not sending: the stats leave it out.
export const messagesProjection: Projection = {
  name: 'messages',
  handles: ['message.*'],

  async apply(sql, events) {
    const rows = await loadRows(sql, events);
    const changed = new Set<string>();
    const counts = new Map<string, DailyCount>();
    for (const event of events) {
      const next = statusOf(event.type);
      const tenant = event.metadata.tenantId;
      const id = String(event.data.messageId);
      const row = rows.get(id);
      if (event.type === 'message.held' && row?.status === 'queued') {
        rows.set(id, { ...row, held_reason: String(event.data.reason), updated_at: event.recordedAt.toISOString() });
        changed.add(id);
      }
      if (!next || tenant === undefined) continue;
      const status = advance(row?.status, next);
      if (!status) continue;
      rows.set(id, evolve(row, event, id, tenant, status));
      changed.add(id);
      if (event.type === 'message.sent-by-owner') continue;
      const device = event.metadata.deviceId ?? 0;
      const day = event.recordedAt.toISOString().slice(0, 10);
      const key = `${tenant}|${device}|${day}`;
      const count = counts.get(key) ?? { tenant, device, day, reached: {} };
      for (const reached of reachedBy(row?.status, status)) count.reached[reached] = (count.reached[reached] ?? 0) + 1;
      counts.set(key, count);
    }
    if (changed.size) await saveRows(sql, [...changed].map((id) => rows.get(id)!));
    // A message that went out, failed or was cancelled needs its file no more (a resend holds it again).
    await releaseFileHolds(sql, [...changed].filter((id) => ENDED.has(rows.get(id)!.status)));
    if (counts.size) await addCounts(sql, [...counts.values()]);
  },

  async reset(sql) {
    await sql('delete from message_status');
    await sql('delete from message_stats_daily');
  },
};

async function loadRows(sql: Sql, events: RecordedEvent[]): Promise<Map<string, StatusRow>> {
  const ids = [...new Set(events.map((e) => String(e.data.messageId)))];
  const found = (await sql(`select ${COLUMNS.join(', ')} from message_status where message_id in (?)`, [ids])) as unknown as StatusRow[];
  return new Map(found.map((row) => [row.message_id, row]));
}

function evolve(row: StatusRow | undefined, event: RecordedEvent, id: string, tenant: number, status: MessageStatus): StatusRow {
  const at = event.recordedAt.toISOString();
  const next: StatusRow = row
    ? { ...row }
    : {
        message_id: id,
        tenant_id: tenant,
        device_id: event.metadata.deviceId ?? null,
        status,
        direction: 'out',
        chat_jid: null,
        sender: null,
        sender_lid: null,
        content_type: null,
        body: null,
        file_id: null,
        campaign_id: null,
        wa_message_id: null,
        error: null,
        held_reason: null,
        created_at: at,
        updated_at: at,
      };
  describe(next, event);
  next.status = status;
  next[`${status}_at`] = at;
  next.updated_at = at;
  if (typeof event.data.waMessageId === 'string') next.wa_message_id = event.data.waMessageId;
  next.error = status === 'failed' || status === 'cancelled' ? String(event.data.reason) : null;
  // A message queued again (a resend) starts with no hold; one that moved on is held no more.
  next.held_reason = null;
  return next;
}

// What the message is, from the event that introduces it (its first queueing, its arrival, or the owner's writing it).
function describe(row: StatusRow, event: RecordedEvent): void {
  const data = event.data as Partial<EventPayloads['message.queued'] & EventPayloads['message.received'] & EventPayloads['message.sent-by-owner']>;
  if (event.type === 'message.queued' && data.content && !row.chat_jid) {
    row.chat_jid = data.to ?? null;
    row.content_type = data.content.type;
    row.body = summaryOf(data.content);
    row.file_id = isMediaContent(data.content) ? data.content.file.fileId : null;
    row.campaign_id = data.campaignId ?? null;
  }
  if (event.type === 'message.received') {
    row.direction = 'in';
    row.chat_jid = data.chatJid ?? null;
    row.sender = data.from ?? null;
    row.sender_lid = data.fromLid ?? null;
    row.content_type = data.messageType ? contentTypeOf(data.messageType) : null;
    row.body = data.text ?? null;
    row.file_id = data.media?.fileId ?? null;
  }
  if (event.type === 'message.sent-by-owner') {
    row.chat_jid = data.chatJid ?? null;
    row.content_type = data.messageType ? contentTypeOf(data.messageType) : null;
    row.body = data.text ?? null;
  }
}

async function saveRows(sql: Sql, rows: StatusRow[]): Promise<void> {
  const placeholders = `(${COLUMNS.map(() => '?').join(', ')})`;
  await sql(
    `insert into message_status (${COLUMNS.join(', ')}) values ${rows.map(() => placeholders).join(', ')}
     on conflict (message_id) do update set ${COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`,
    rows.flatMap((row) => COLUMNS.map((c) => row[c] ?? null)),
  );
}

// message_stats_daily's count columns, one per status.
const DAILY_COLUMNS: readonly MessageStatus[] = ['queued', 'sent', 'delivered', 'read', 'played', 'failed', 'cancelled', 'received'];

// Every day and device of a batch in one statement, each status column added to.
const DAILY_NAMES = DAILY_COLUMNS.map((status) => quotedName(status, DAILY_COLUMNS));
const DAILY_LIST = DAILY_NAMES.join(', ');
const DAILY_TYPES = DAILY_NAMES.map((c) => `${c} int`).join(', ');
const DAILY_SUMS = DAILY_NAMES.map((c) => `${c} = message_stats_daily.${c} + excluded.${c}`).join(', ');

async function addCounts(sql: Sql, counts: DailyCount[]): Promise<void> {
  await sql(
    `insert into message_stats_daily (tenant_id, device_id, day, ${DAILY_LIST})
     select tenant_id, device_id, day, ${DAILY_LIST} from jsonb_to_recordset(?::jsonb) as r(tenant_id int, device_id int, day text, ${DAILY_TYPES})
     on conflict (tenant_id, device_id, day) do update set ${DAILY_SUMS}`,
    [JSON.stringify(counts.map(({ tenant, device, day, reached }) => ({ tenant_id: tenant, device_id: device, day, ...Object.fromEntries(DAILY_COLUMNS.map((s) => [s, reached[s] ?? 0])) })))],
  );
}
