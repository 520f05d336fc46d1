import { randomBytes } from 'node:crypto';
import { Type, type Static } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { resolveModel } from '../../ai/catalog.ts';
import { chatOf, chatsOf, chatStats, clearMemory, conversationOf, settingsOf, updateChat, updateSettings, type AiDevice, type ChatPatch } from '../../ai/conversations.ts';
import type { ChatRow } from '../../ai/chats.ts';
import { complete, ProviderError } from '../../ai/providers.ts';
import { costOf, reachedCostLimit, recordUsage } from '../../ai/usage.ts';
import { transaction } from '../../db/transactions.ts';
import { findDevice } from '../../devices/devices.ts';
import { AppError } from '../../domain/errors.ts';
import { parseRecipient } from '../../domain/recipients.ts';
import { principalOf } from '../plugins/auth.ts';
import { Clearable, errors, IsoDate, Nullable, ok, Paging, Success } from '../schemas.ts';

// Seed 004's AI Features: a device's AI settings, each chat's settings and conversation (status, memory, stats),
// and a test call to a model. The replies themselves are the worker's (src/ai/reactor.ts, src/ai/reply-job.ts).

const Rules = Type.Array(Type.String({ minLength: 1, maxLength: 1000 }), { maxItems: 50 });
const Trigger = Type.Union([
  Type.Object({ type: Type.Literal('all') }, { additionalProperties: false }),
  Type.Object(
    {
      type: Type.Literal('keyword'),
      operator: Type.Union([Type.Literal('equals'), Type.Literal('contains'), Type.Literal('startsWith'), Type.Literal('endsWith')]),
      keywords: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 50 }),
    },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('regex'), pattern: Type.String({ minLength: 1, maxLength: 500 }), flags: Type.Optional(Type.String({ pattern: '^[imsu]*$' })) }, { additionalProperties: false }),
]);

const settingsFields = {
  aiEnabled: Type.Boolean(),
  autoReply: Type.Boolean(),
  provider: Clearable(Type.String({ minLength: 1, maxLength: 64, description: 'A provider name (GET /api/whatsapp/ai/providers)' })),
  model: Clearable(Type.String({ minLength: 1, maxLength: 128 })),
  temperature: Type.Number({ minimum: 0, maximum: 2 }),
  maxTokens: Type.Integer({ minimum: 1, maximum: 200_000 }),
  customRules: Rules,
  trigger: Trigger,
  ignoreGroups: Type.Boolean({ description: 'Never answer in groups (the default)' }),
  ignoreJids: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 1000, description: 'Exact JIDs, or `@g.us` / `@s.whatsapp.net` for all groups / all people' }),
  debounceSeconds: Type.Number({ minimum: 0, maximum: 300, description: 'A burst of messages is joined into one prompt; each new one waits this long for the next' }),
  takeoverPauseMinutes: Type.Number({ minimum: 0, maximum: 10_080, description: 'A person writing in the chat pauses the bot there this long (0: never)' }),
  endKeyword: Clearable(Type.String({ minLength: 1, maxLength: 100, description: 'The contact writing this ends the conversation' })),
  idleExpiryMinutes: Type.Number({ minimum: 0, maximum: 525_600, description: 'An idle conversation closes after this long (0: never)' }),
  memoryMessages: Type.Integer({ minimum: 0, maximum: 100, description: 'Earlier messages the model sees' }),
  typing: Type.Boolean({ description: 'Show typing before each reply, in proportion to its length' }),
  splitReplies: Type.Boolean({ description: 'A reply with blank lines goes out as several messages' }),
  unknownMessageText: Clearable(Type.String({ minLength: 1, maxLength: 1000, description: 'Answered to what the bot cannot read (media without a caption…)' })),
  maxRepliesPerHour: Type.Integer({ minimum: 1, maximum: 1000, description: 'Per chat; past it the chat pauses for the rest of the hour' }),
};
const AiSettingsView = Type.Object(settingsFields);
const AiSettingsPatch = Type.Partial(Type.Object(settingsFields), { additionalProperties: false });

const chatSettingsFields = {
  aiEnabled: Type.Boolean(),
  autoReply: Type.Boolean(),
  memoryEnabled: Type.Boolean(),
  customRules: Rules,
};
const Status = Type.Union([Type.Literal('open'), Type.Literal('paused'), Type.Literal('closed')]);
const ChatPatchBody = Type.Partial(
  Type.Object({
    ...chatSettingsFields,
    status: Status,
    pauseMinutes: Type.Number({ exclusiveMinimum: 0, maximum: 525_600, description: 'With status `paused`: for this long (absent: until resumed)' }),
  }),
  { additionalProperties: false },
);
const ChatView = Type.Object({
  chatJid: Type.String(),
  phoneNumber: Nullable(Type.String()),
  aiEnabled: Nullable(Type.Boolean({ description: 'null: the device’s setting applies' })),
  autoReply: Nullable(Type.Boolean()),
  memoryEnabled: Type.Boolean(),
  customRules: Rules,
  status: Status,
  statusReason: Nullable(Type.String()),
  pausedUntil: Nullable(IsoDate),
  memorySince: Nullable(IsoDate),
  lastActivityAt: Nullable(IsoDate),
  updatedAt: IsoDate,
});
const ChatParams = Type.Object({ id: Type.Integer({ minimum: 1 }), phoneNumber: Type.String({ minLength: 1, maxLength: 128, description: 'A number (+62…) or a chat JID' }) });

const iso = (date: Date | null) => date?.toISOString() ?? null;
function chatView(chat: ChatRow): Static<typeof ChatView> {
  return {
    chatJid: chat.chatJid,
    phoneNumber: chat.chatJid.endsWith('@s.whatsapp.net') ? `+${chat.chatJid.split('@')[0]}` : null,
    aiEnabled: chat.settings.aiEnabled ?? null,
    autoReply: chat.settings.autoReply ?? null,
    memoryEnabled: chat.settings.memoryEnabled ?? true,
    customRules: chat.settings.customRules ?? [],
    status: chat.status,
    statusReason: chat.statusReason,
    pausedUntil: iso(chat.pausedUntil),
    memorySince: iso(chat.memorySince),
    lastActivityAt: iso(chat.lastActivityAt),
    updatedAt: chat.updatedAt.toISOString(),
  };
}

// Settings may name a number no message can reach (seed 004's bulk example has `+0987654321`): kept under its digits,
// they are simply never used, which is kinder than refusing the whole request.
function chatJidOf(text: string): string {
  const decoded = decodeURIComponent(text);
  const recipient = parseRecipient(decoded);
  if (recipient) return recipient.jid;
  const digits = /^\+?[\d\s().-]+$/.test(decoded.trim()) ? decoded.replace(/\D/g, '') : '';
  if (digits.length >= 7 && digits.length <= 15) return `${digits}@s.whatsapp.net`;
  throw new AppError('INVALID_PHONE_NUMBER', `"${text}" is neither a phone number nor a chat JID`);
}

async function deviceOf(request: FastifyRequest, id: number): Promise<AiDevice> {
  const device = await findDevice(request.em, principalOf(request), id);
  return { id: device.id, userId: device.user.id, sessionId: device.sessionId };
}

const aiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['ai'];
  const { config } = app;

  app.get('/api/whatsapp/devices/:id/settings/ai', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: "A device's AI settings (seed 004)", params: Type.Object({ id: Type.Integer({ minimum: 1 }) }), response: { 200: ok(AiSettingsView), ...errors(401, 404, 429) } },
    handler: async (request) => {
      const device = await deviceOf(request, request.params.id);
      return { success: true, data: await settingsOf(request.em, device.id) } as const;
    },
  });

  app.put('/api/whatsapp/devices/:id/settings/ai', {
    config: { auth: 'any', scope: 'devices' },
    schema: {
      tags,
      summary: "Change a device's AI settings (seed 004); fields left out keep their values",
      description: 'Turning AI on needs a provider and a model that exist and are active (else 400 INVALID_AI_CONFIG).',
      params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
      body: AiSettingsPatch,
      response: { 200: ok(AiSettingsView), ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const device = await deviceOf(request, request.params.id);
      return { success: true, data: await updateSettings(request.em, config.encryptionKey, device.id, request.body) } as const;
    },
  });

  app.get('/api/whatsapp/devices/:id/chat-settings', {
    config: { auth: 'any', scope: 'read' },
    schema: {
      tags,
      summary: "The chats of a device the AI knows, with their settings and conversation status (seed 004)",
      params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
      querystring: Type.Object(Paging),
      response: { 200: ok(Type.Object({ items: Type.Array(ChatView), nextCursor: Nullable(Type.String()) })), ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const device = await deviceOf(request, request.params.id);
      const page = await chatsOf(request.em, device.id, request.query.limit, request.query.cursor);
      return { success: true, data: { items: page.items.map(chatView), nextCursor: page.nextCursor } } as const;
    },
  });

  app.get('/api/whatsapp/devices/:id/chat-settings/:phoneNumber', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: "One chat's AI settings and conversation status (seed 004)", params: ChatParams, response: { 200: ok(ChatView), ...errors(400, 401, 404, 429) } },
    handler: async (request) => {
      const device = await deviceOf(request, request.params.id);
      return { success: true, data: chatView(await chatOf(request.em, device.id, chatJidOf(request.params.phoneNumber))) } as const;
    },
  });

  app.put('/api/whatsapp/devices/:id/chat-settings/:phoneNumber', {
    config: { auth: 'any', scope: 'devices' },
    schema: {
      tags,
      summary: "Change one chat's AI settings or conversation status (seed 004)",
      description: '`status`: `paused` (for `pauseMinutes`, or until resumed), `open` (resume; a closed conversation starts afresh), `closed`.',
      params: ChatParams,
      body: ChatPatchBody,
      response: { 200: ok(ChatView), ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const device = await deviceOf(request, request.params.id);
      const chat = await updateChat(request.em, device, chatJidOf(request.params.phoneNumber), request.body as ChatPatch, app.clock());
      return { success: true, data: chatView(chat) } as const;
    },
  });

  app.post('/api/whatsapp/devices/:id/chat-settings/bulk-update', {
    config: { auth: 'any', scope: 'devices' },
    schema: {
      tags,
      summary: 'Change several chats at once (seed 004): all or none',
      params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
      body: Type.Object(
        {
          chats: Type.Array(Type.Object({ phoneNumber: Type.String({ minLength: 1, maxLength: 128 }), ...ChatPatchBody.properties }, { additionalProperties: false }), {
            minItems: 1,
            maxItems: 500,
          }),
        },
        { additionalProperties: false },
      ),
      response: { 200: ok(Type.Object({ updated: Type.Integer(), chats: Type.Array(ChatView) })), ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const device = await deviceOf(request, request.params.id);
      const planned = request.body.chats.map(({ phoneNumber, ...patch }, index) => {
        try {
          return { chatJid: chatJidOf(phoneNumber), patch: patch as ChatPatch };
        } catch (err) {
          throw new AppError('INVALID_PHONE_NUMBER', `chats[${index}]: ${(err as Error).message}`);
        }
      });
      const now = app.clock();
      const chats = await transaction(request.em, async (tx) => {
        const done: ChatRow[] = [];
        for (const { chatJid, patch } of planned) done.push(await updateChat(tx, device, chatJid, patch, now));
        return done;
      });
      return { success: true, data: { updated: chats.length, chats: chats.map(chatView) } } as const;
    },
  });

  app.get('/api/whatsapp/devices/:id/chat-settings/:phoneNumber/conversation', {
    config: { auth: 'any', scope: 'read' },
    schema: {
      tags,
      summary: 'The conversation the AI remembers in this chat, oldest first (seed 004)',
      params: ChatParams,
      querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }),
      response: {
        200: ok(
          Type.Object({
            chat: ChatView,
            messages: Type.Array(Type.Object({ messageId: Type.String(), role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]), text: Type.String(), status: Type.String(), at: IsoDate })),
          }),
        ),
        ...errors(400, 401, 404, 429),
      },
    },
    handler: async (request) => {
      const device = await deviceOf(request, request.params.id);
      const chat = await chatOf(request.em, device.id, chatJidOf(request.params.phoneNumber));
      return { success: true, data: { chat: chatView(chat), messages: await conversationOf(request.em, device.id, chat, request.query.limit) } } as const;
    },
  });

  app.get('/api/whatsapp/devices/:id/chat-settings/:phoneNumber/stats', {
    config: { auth: 'any', scope: 'read' },
    schema: {
      tags,
      summary: "One chat's messages, AI replies and their cost (seed 004)",
      params: ChatParams,
      response: {
        200: ok(
          Type.Object({
            chatJid: Type.String(),
            status: Status,
            lastActivityAt: Nullable(IsoDate),
            messagesReceived: Type.Integer(),
            messagesSent: Type.Integer(),
            aiReplies: Type.Integer(),
            aiFailures: Type.Integer(),
            inputTokens: Type.Integer(),
            outputTokens: Type.Integer(),
            cost: Type.Number(),
          }),
        ),
        ...errors(400, 401, 404, 429),
      },
    },
    handler: async (request) => {
      const device = await deviceOf(request, request.params.id);
      const chat = await chatOf(request.em, device.id, chatJidOf(request.params.phoneNumber));
      const stats = await chatStats(request.em, device.id, chat.chatJid);
      return { success: true, data: { chatJid: chat.chatJid, status: chat.status, lastActivityAt: iso(chat.lastActivityAt), ...stats } } as const;
    },
  });

  app.delete('/api/whatsapp/:deviceId/:jid/memory', {
    config: { auth: 'any', scope: 'devices' },
    schema: {
      tags,
      summary: "Forget a chat's conversation (seed 004): the AI remembers nothing written before now",
      params: Type.Object({ deviceId: Type.Integer({ minimum: 1 }), jid: Type.String({ minLength: 1, maxLength: 128 }) }),
      response: { 200: Success, ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const device = await deviceOf(request, request.params.deviceId);
      await clearMemory(request.em, device, chatJidOf(request.params.jid), app.clock());
      return { success: true } as const;
    },
  });

  app.post('/api/whatsapp/test-ai', {
    config: { scope: 'send' },
    schema: {
      tags,
      summary: 'Ask a model one question (seed 004), as a reply would; the call is logged and costed',
      body: Type.Object(
        {
          provider: Type.String({ minLength: 1, maxLength: 64 }),
          model: Type.String({ minLength: 1, maxLength: 128 }),
          prompt: Type.String({ minLength: 1, maxLength: 20_000 }),
          temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
          maxTokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 200_000 })),
          customRules: Type.Optional(Rules),
        },
        { additionalProperties: false },
      ),
      response: {
        200: ok(
          Type.Object({
            response: Type.String(),
            provider: Type.String(),
            model: Type.String(),
            usage: Type.Object({ inputTokens: Type.Integer(), outputTokens: Type.Integer(), cost: Type.Number() }),
            duration: Type.Integer({ description: 'Milliseconds' }),
          }),
        ),
        ...errors(400, 401, 429, 502),
      },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      const { provider, model: modelName, prompt, temperature, maxTokens, customRules } = request.body;
      const now = app.clock();
      const limit = await reachedCostLimit(request.em, principal.userId, now);
      if (limit) throw new AppError('AI_COST_LIMIT_EXCEEDED', `The ${limit.scope} ${limit.period} AI cost limit of ${limit.threshold} is reached`);
      const model = await resolveModel(request.em, config.encryptionKey, provider, modelName);
      const record = (outcome: 'ok' | 'error', tokens: { inputTokens: number; outputTokens: number }, durationMs: number, error?: string) => {
        const cost = costOf(model, tokens.inputTokens, tokens.outputTokens);
        return recordUsage(request.em, {
          attemptId: `test#${randomBytes(8).toString('hex')}`,
          userId: principal.userId,
          purpose: 'test',
          provider: model.provider,
          model: model.model,
          ...tokens,
          cost,
          durationMs,
          outcome,
          ...(error ? { error } : {}),
          at: now,
        }).then(() => cost);
      };
      try {
        const completion = await complete({
          kind: model.kind,
          ...(model.endpoint ? { endpoint: model.endpoint } : {}),
          ...(model.apiKey ? { apiKey: model.apiKey } : {}),
          model: model.model,
          ...(customRules?.length ? { system: customRules.join('\n') } : {}),
          turns: [{ role: 'user', content: prompt }],
          ...(temperature === undefined ? {} : { temperature }),
          maxTokens: Math.min(maxTokens ?? 1000, model.maxTokens ?? Infinity),
          timeoutMs: config.ai.timeoutMs,
        });
        const cost = await record('ok', completion, completion.durationMs);
        return {
          success: true,
          data: { response: completion.text, provider: model.provider, model: model.model, usage: { inputTokens: completion.inputTokens, outputTokens: completion.outputTokens, cost }, duration: completion.durationMs },
        } as const;
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        await record('error', { inputTokens: 0, outputTokens: 0 }, app.clock().getTime() - now.getTime(), err.message);
        throw new AppError('AI_PROVIDER_ERROR', err.message);
      }
    },
  });
};

export default aiRoutes;
