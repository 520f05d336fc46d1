import type { Queue } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../auth/context.ts';
import { decideInbound, decideOwnerMessage, isActive, isIgnoredChat, type AiDeviceSettings } from '../domain/ai.ts';
import type { EventPayloads } from '../domain/events.ts';
import type { RecordedEvent, Sql } from '../events/event-store.ts';
import type { Projection } from '../events/projections/projection.ts';
import { queueMessages } from '../messages/queue-message.ts';
import { devicesWithAi, lockChat, reasonOf, recordChatChanges, saveChatState } from './chats.ts';
import { AI_REPLY_BACKOFF, type AiReplyJobData } from './reply-job.ts';

// Follows the log from its checkpoint and decides, message by message, what the AI does in each chat: a contact's
// message joins the chat's burst and (re)schedules the burst's reply job; a person writing in the chat (typed on the
// phone: `message.sent-by-owner`; sent through the API: a `message.queued` the platform did not write) pauses the
// bot there. Chat rows and conversation events are written in the runner's transaction, with the checkpoint, so a
// crash decides nothing twice; the reply job's id is its burst's last message, so a batch run again adds no job.
// Every burst message gets a job; all but the last find themselves superseded and do nothing, which is how a new
// message "restarts the timer" without moving a delayed job.

interface ReplyAfterDebounce {
  data: AiReplyJobData;
  jobId: string;
  delay: number;
}

export interface AiReactorDeps {
  queue: Queue;
  clock: Clock;
  attempts: number;
}

export function aiReplyReactor({ queue, clock, attempts }: AiReactorDeps): Projection {
  return {
    name: 'ai-replies',
    handles: ['message.received', 'message.sent-by-owner', 'message.queued'],
    async apply(sql, events, em) {
      const devices = await devicesWithAi(sql, [...new Set(events.map((e) => e.metadata.deviceId).filter((id) => id !== undefined))]);
      if (!devices.size) return;
      const jobs: ReplyAfterDebounce[] = [];
      for (const event of events) {
        const settings = devices.get(event.metadata.deviceId!);
        if (!settings) continue;
        if (event.type === 'message.received') {
          const job = await onInbound(sql, em, settings, event, clock);
          if (job) jobs.push(job);
        } else {
          await onPerson(sql, em, settings, event);
        }
      }
      if (jobs.length) await queue.addBulk(jobs.map(({ data, jobId, delay }) => ({ name: 'reply', data, opts: { jobId, delay, attempts, backoff: AI_REPLY_BACKOFF } })));
    },
    // Nothing to empty: chat states are the bot's memory of what it did, not a view to rebuild.
    async reset() {},
  };
}

async function onInbound(sql: Sql, em: EntityManager, settings: AiDeviceSettings, event: RecordedEvent, clock: Clock): Promise<ReplyAfterDebounce | undefined> {
  const { messageId, chatJid, messageType, text } = event.data as unknown as EventPayloads['message.received'];
  if (isIgnoredChat(settings, chatJid)) return undefined;
  const deviceId = event.metadata.deviceId!;
  const chat = await lockChat(sql, deviceId, chatJid);
  if (!isActive(settings, chat.settings)) return undefined;
  const decision = decideInbound(settings, chat, { messageId, messageType, text, at: event.recordedAt }, event.recordedAt);
  let state = decision.state;
  if (decision.action.type === 'unknown') {
    await queueMessages(
      em,
      {
        device: { id: deviceId, userId: event.metadata.tenantId!, sessionId: event.metadata.sessionId! },
        recipient: { jid: chatJid, kind: chatJid.endsWith('@g.us') ? 'group' : 'person' },
        contents: [{ type: 'text', text: settings.unknownMessageText! }],
        idempotencyKey: `ai-unknown-${messageId}`,
        origin: 'ai',
        typing: settings.typing,
      },
      event.recordedAt,
    );
    state = { ...state, replies: [...state.replies, event.recordedAt.toISOString()] };
  }
  await saveChatState(sql, deviceId, chatJid, state, reasonOf(decision.changes, chat.statusReason));
  await recordChatChanges(em, event.metadata, chatJid, decision.changes, `ai:${event.eventId}`);
  if (decision.action.type !== 'reply') return undefined;
  const { burst } = decision.action;
  const delay = Math.max(0, Date.parse(burst.lastAt) + settings.debounceSeconds * 1000 - clock().getTime());
  return { data: { deviceId, chatJid, messageId: burst.lastId }, jobId: `ai-${burst.lastId}`, delay };
}

async function onPerson(sql: Sql, em: EntityManager, settings: AiDeviceSettings, event: RecordedEvent): Promise<void> {
  let chatJid: string;
  let text: string | undefined;
  if (event.type === 'message.queued') {
    const queued = event.data as unknown as EventPayloads['message.queued'];
    // The platform's own messages (AI replies) and campaigns are not a person answering this chat.
    if (queued.origin || queued.campaignId) return;
    chatJid = queued.to;
    text = queued.content.type === 'text' ? queued.content.text : undefined;
  } else {
    ({ chatJid, text } = event.data as unknown as EventPayloads['message.sent-by-owner']);
  }
  if (isIgnoredChat(settings, chatJid)) return;
  const deviceId = event.metadata.deviceId!;
  const chat = await lockChat(sql, deviceId, chatJid);
  if (!isActive(settings, chat.settings)) return;
  const { state, changes } = decideOwnerMessage(settings, chat, text, event.recordedAt);
  await saveChatState(sql, deviceId, chatJid, state, reasonOf(changes, chat.statusReason));
  await recordChatChanges(em, event.metadata, chatJid, changes, `ai:${event.eventId}`);
}
