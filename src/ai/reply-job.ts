import { randomBytes } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../auth/context.ts';
import type { AiSettings } from '../config.ts';
import type { Coordination } from '../coordination/coordination.ts';
import type { Orm } from '../db/orm.ts';
import { transaction } from '../db/transactions.ts';
import { isActive, ownerCommandOf, promptTurns, replyParts, systemPrompt, type AiDeviceSettings, type Burst, type MemoryMessage } from '../domain/ai.ts';
import { AppError } from '../domain/errors.ts';
import { streamOf, type DomainEvent } from '../domain/events.ts';
import { eventIdOf } from '../events/event-ids.ts';
import { appendToStream, sqlOf, type EventMetadata, type Sql } from '../events/event-store.ts';
import type { Logger } from '../logger.ts';
import { queueMessages } from '../messages/queue-message.ts';
import { resolveModel, type ResolvedModel } from './catalog.ts';
import { chatDigest, deviceSettings, lockChat, saveChatState } from './chats.ts';
import { complete, ProviderError } from './providers.ts';
import { costOf, reachedCostLimit, recordUsage, type LimitReached } from './usage.ts';

// One reply per burst: take the burst (unless a later message or a person superseded it), check the cost limits and
// the model, ask the model with the conversation so far, and queue the answer through the normal send pipeline. The
// answer's idempotency key is the burst's, and it is queued in one transaction with `ai.replied` under the chat's
// lock, so a job run again after a crash, or retried, never sends a second reply. A provider's 429 and 5xx are
// retried with BullMQ's attempts, waiting what its Retry-After asks; every call is logged with its tokens and cost.

export interface AiReplyJobData {
  deviceId: number;
  chatJid: string;
  // The burst's last message: the one job of the burst that answers it.
  messageId: string;
}

export const AI_REPLY_BACKOFF = { type: 'ai-provider' } as const;

// The wait before the next attempt: what the provider asked for, else doubling from 2 s. Whole milliseconds: BullMQ's
// PostgreSQL backend keeps due times as bigint and refuses a fraction (a Retry-After of 1.5 s is fine).
export function aiReplyBackoff(attemptsMade: number, _type?: string, err?: Error): number {
  if (err instanceof ProviderError && err.retryAfterMs !== undefined) return Math.ceil(Math.min(err.retryAfterMs, 10 * 60_000));
  return Math.min(2000 * 2 ** Math.max(0, attemptsMade - 1), 5 * 60_000);
}

export interface AiReplyDeps {
  orm: Orm;
  coordination: Coordination;
  settings: AiSettings;
  encryptionKey: Buffer;
  clock: Clock;
  logger: Logger;
}

interface Device {
  id: number;
  userId: number;
  sessionId: string;
}

interface Taken {
  device: Device;
  settings: AiDeviceSettings;
  burst: Burst;
  texts: string[];
  memory: MemoryMessage[];
  chatRules: string[];
}

// Messages the model sees besides the burst: ours and theirs in this conversation, newest `limit` of them.
async function memoryOf(sql: Sql, deviceId: number, chatJid: string, since: Date | null, exclude: string[], limit: number): Promise<MemoryMessage[]> {
  if (limit <= 0) return [];
  const rows = await sql(
    `select direction, body from message_status
      where device_id = ? and chat_jid = ? and body is not null and body <> '' and status not in ('failed', 'cancelled')
        and created_at >= ? and message_id not in (?)
      order by created_at desc limit ?`,
    [deviceId, chatJid, (since ?? new Date(0)).toISOString(), exclude, limit],
  );
  // The owner's `/bot on|off` steer the bot; they are not part of the conversation.
  return rows
    .reverse()
    .map((row): MemoryMessage => ({ direction: row.direction === 'in' ? 'in' : 'out', text: String(row.body) }))
    .filter((message) => message.direction === 'in' || !ownerCommandOf(message.text));
}

async function burstTexts(sql: Sql, burst: Burst): Promise<string[]> {
  const rows = await sql(`select data->>'messageId' as id, data->>'text' as text from events where stream_id in (?) and type = 'message.received'`, [
    burst.messageIds.map(streamOf.message),
  ]);
  const byId = new Map(rows.map((row) => [String(row.id), row.text as string | null]));
  return burst.messageIds.map((id) => byId.get(id)?.trim()).filter((text): text is string => Boolean(text));
}

const metadataOf = (device: Device): EventMetadata => ({ tenantId: device.userId, deviceId: device.id, sessionId: device.sessionId });

function appendToChat(em: EntityManager, device: Device, chatJid: string, eventId: string, event: DomainEvent) {
  return appendToStream(em, streamOf.aiChat(device.id, chatDigest(chatJid)), [{ eventId: eventIdOf(eventId), event }], { expectedVersion: 'any', metadata: metadataOf(device) });
}

export function aiReplyProcessor(deps: AiReplyDeps) {
  const { orm, coordination, settings: ai, encryptionKey, clock, logger } = deps;

  // The burst, marked taken on the first attempt (`ai.reply-requested`); undefined when there is nothing to answer,
  // 'behind' while the reactor has yet to read a message of this device received within the burst's window (it may
  // join the burst: answering now would answer it apart).
  const take = (data: AiReplyJobData) =>
    transaction(orm.em.fork(), async (em): Promise<Taken | 'behind' | undefined> => {
      const sql = sqlOf(em);
      const [row] = await sql('select id, user_id, session_id from devices where id = ?', [data.deviceId]);
      const settings = await deviceSettings(sql, data.deviceId);
      if (!row || !settings) return undefined;
      const device = { id: Number(row.id), userId: Number(row.user_id), sessionId: String(row.session_id) };
      const chat = await lockChat(sql, data.deviceId, data.chatJid);
      const burst = chat.burst;
      if (!burst || burst.lastId !== data.messageId || chat.status !== 'open' || !isActive(settings, chat.settings)) return undefined;
      if (!burst.taken) {
        const windowEnd = new Date(Date.parse(burst.lastAt) + settings.debounceSeconds * 1000).toISOString();
        const unread = await sql(
          `select 1 from events e join projection_checkpoints c on c.name = 'ai-replies'
            where (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)
              and e.type = 'message.received' and e.device_id = ? and e.recorded_at <= ? limit 1`,
          [device.id, windowEnd],
        );
        if (unread.length) return 'behind';
        await saveChatState(sql, device.id, data.chatJid, { ...chat, burst: { ...burst, taken: true } }, chat.statusReason);
        await appendToChat(em, device, data.chatJid, `ai-requested:${device.id}:${burst.id}`, {
          type: 'ai.reply-requested',
          data: { chatJid: data.chatJid, burstId: burst.id, messageIds: burst.messageIds, provider: settings.provider ?? '', model: settings.model ?? '' },
        });
      }
      const memoryEnabled = chat.settings.memoryEnabled ?? true;
      return {
        device,
        settings,
        burst,
        texts: await burstTexts(sql, burst),
        memory: memoryEnabled ? await memoryOf(sql, device.id, data.chatJid, chat.memorySince, burst.messageIds, settings.memoryMessages) : [],
        chatRules: chat.settings.customRules ?? [],
      };
    });

  const fail = (taken: Taken, chatJid: string, attempts: number, code: string, reason: string, alert?: LimitReached) =>
    transaction(orm.em.fork(), async (em) => {
      if (alert) {
        const { scope, userId, period, periodKey } = alert;
        // Once per limit and period for each user it stops (their webhooks and streams): a platform-wide limit
        // reaches every user it stops, not only the first.
        const stopped = taken.device.userId;
        await appendToStream(
          em,
          streamOf.aiCost(scope === 'user' ? userId : undefined),
          [{ eventId: eventIdOf(`ai-cost:${scope}:${userId ?? ''}:${stopped}:${period}:${periodKey}`), event: { type: 'ai.cost-limit-reached', data: alert } }],
          { expectedVersion: 'any', metadata: { tenantId: stopped, deviceId: taken.device.id } },
        );
      }
      await appendToChat(em, taken.device, chatJid, `ai-failed:${taken.device.id}:${taken.burst.id}`, {
        type: 'ai.failed',
        data: { chatJid, burstId: taken.burst.id, messageIds: taken.burst.messageIds, code, reason, attempts },
      });
      return { failed: code };
    });

  // The answer, queued once: the chat's lock orders this job's runs, and `ai.replied` is written with the messages.
  const reply = (taken: Taken, chatJid: string, model: ResolvedModel, text: string, usage: { inputTokens: number; outputTokens: number; cost: number; durationMs: number }, attempts: number) =>
    transaction(orm.em.fork(), async (em) => {
      const sql = sqlOf(em);
      const chat = await lockChat(sql, taken.device.id, chatJid);
      const repliedId = eventIdOf(`ai-replied:${taken.device.id}:${taken.burst.id}`);
      if ((await sql('select 1 from events where event_id = ?', [repliedId])).length) return { replied: 'before' };
      const now = clock();
      const idempotencyKey = `ai-reply-${taken.burst.id}`;
      const parts = replyParts(text, taken.settings.splitReplies);
      const queued = await queueMessages(
        em,
        {
          device: taken.device,
          recipient: { jid: chatJid, kind: chatJid.endsWith('@g.us') ? 'group' : 'person' },
          contents: parts.map((part) => ({ type: 'text', text: part })),
          idempotencyKey,
          origin: 'ai',
          typing: taken.settings.typing,
        },
        now,
      );
      const burst = chat.burst?.id === taken.burst.id ? null : chat.burst;
      await saveChatState(sql, taken.device.id, chatJid, { ...chat, burst, lastActivityAt: now, replies: [...chat.replies, now.toISOString()] }, chat.statusReason);
      await appendToStream(
        em,
        streamOf.aiChat(taken.device.id, chatDigest(chatJid)),
        [
          {
            eventId: repliedId,
            event: {
              type: 'ai.replied',
              data: { chatJid, burstId: taken.burst.id, replyMessageIds: queued.map((q) => q.messageId), provider: model.provider, model: model.model, ...usage, attempts },
            },
          },
        ],
        { expectedVersion: 'any', metadata: metadataOf(taken.device) },
      );
      return { replied: queued.map((q) => q.messageId) };
    });

  const slot = async (key: string, max: number): Promise<(() => Promise<void>) | undefined> => {
    const token = await coordination.acquireSlot(key, max, ai.timeoutMs + 5000, 0);
    return token === undefined ? undefined : () => coordination.releaseSlot(key, token);
  };

  return async (job: Job<AiReplyJobData>, token?: string) => {
    const { chatJid } = job.data;
    const attempt = job.attemptsMade + 1;
    const lastAttempt = attempt >= (job.opts.attempts ?? ai.attempts);
    const taken = await take(job.data);
    if (taken === 'behind') {
      await job.moveToDelayed(Date.now() + 250, token);
      throw new DelayedError();
    }
    if (!taken?.texts.length) return { skipped: 'nothing to answer' };

    const limit = await reachedCostLimit(orm.em.fork(), taken.device.userId, clock());
    if (limit) return fail(taken, chatJid, attempt, 'AI_COST_LIMIT_EXCEEDED', `the ${limit.scope} ${limit.period} cost limit of ${limit.threshold} is reached (${limit.current})`, limit);
    let model: ResolvedModel;
    try {
      if (!taken.settings.provider || !taken.settings.model) throw new AppError('INVALID_AI_CONFIG', 'the device names no AI provider and model');
      model = await resolveModel(orm.em.fork(), encryptionKey, taken.settings.provider, taken.settings.model);
    } catch (err) {
      if (err instanceof AppError && err.code === 'INVALID_AI_CONFIG') return fail(taken, chatJid, attempt, err.code, err.message);
      throw err;
    }

    // Per device and per provider across all processes; a job that finds no slot waits a moment without spending an attempt.
    const releaseDevice = await slot(`ai-device:${taken.device.id}`, ai.deviceConcurrency);
    const releaseProvider = releaseDevice && (await slot(`ai-provider:${model.providerId}`, ai.providerConcurrency));
    if (!releaseDevice || !releaseProvider) {
      await releaseDevice?.();
      await job.moveToDelayed(Date.now() + 250 + Math.floor(Math.random() * 500), token);
      throw new DelayedError();
    }
    const started = clock();
    const usageOf = (outcome: 'ok' | 'error', tokens: { inputTokens: number; outputTokens: number }, durationMs: number, error?: string) => ({
      attemptId: `${job.id}#${attempt}#${randomBytes(4).toString('hex')}`,
      userId: taken.device.userId,
      deviceId: taken.device.id,
      chatJid,
      purpose: 'reply' as const,
      provider: model.provider,
      model: model.model,
      ...tokens,
      cost: costOf(model, tokens.inputTokens, tokens.outputTokens),
      durationMs,
      outcome,
      ...(error ? { error } : {}),
      at: started,
    });
    let completion;
    try {
      completion = await complete({
        kind: model.kind,
        ...(model.endpoint ? { endpoint: model.endpoint } : {}),
        ...(model.apiKey ? { apiKey: model.apiKey } : {}),
        model: model.model,
        system: systemPrompt(taken.settings.customRules, taken.chatRules),
        turns: promptTurns(taken.memory, taken.texts),
        temperature: taken.settings.temperature,
        maxTokens: Math.min(taken.settings.maxTokens, model.maxTokens ?? Infinity),
        timeoutMs: ai.timeoutMs,
      });
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      await recordUsage(orm.em.fork(), usageOf('error', { inputTokens: 0, outputTokens: 0 }, clock().getTime() - started.getTime(), err.message));
      if (err.retryable && !lastAttempt) {
        logger.warn({ deviceId: taken.device.id, attempt, status: err.status, retryAfterMs: err.retryAfterMs }, 'AI provider failed; the reply is retried');
        throw err;
      }
      return fail(taken, chatJid, attempt, 'AI_PROVIDER_ERROR', err.message);
    } finally {
      await releaseProvider();
      await releaseDevice();
    }
    const usage = usageOf('ok', completion, completion.durationMs);
    await recordUsage(orm.em.fork(), usage);
    return reply(taken, chatJid, model, completion.text, { inputTokens: completion.inputTokens, outputTokens: completion.outputTokens, cost: usage.cost, durationMs: completion.durationMs }, attempt);
  };
}
