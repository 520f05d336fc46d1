import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  activeProviders,
  createModel,
  createProvider,
  deleteModel,
  deleteProvider,
  getProvider,
  listModels,
  listProviders,
  updateModel,
  updateProvider,
  type ModelInput,
  type ProviderInput,
} from '../../ai/catalog.ts';
import { costLimits, periodOf, setCostLimits, spendSince, usageLogs } from '../../ai/usage.ts';
import { resolveUser } from '../../devices/devices.ts';
import { sqlOf } from '../../events/event-store.ts';
import { principalOf } from '../plugins/auth.ts';
import { Clearable, errors, IdParams, IsoDate, Nullable, ok, Success, UserKey } from '../schemas.ts';

// Seed 004's Admin Operations for AI: providers (keys sealed, never returned), models with their prices, the usage
// log with totals, and cost limits with their current spend. Plus the users' list of what they may choose.

const Status = Type.Union([Type.Literal('active'), Type.Literal('inactive')]);
const Kind = Type.Union([Type.Literal('openai'), Type.Literal('anthropic'), Type.Literal('openai-compatible')], {
  description: 'Inferred from the name when left out: `openai`, `anthropic`, else an OpenAI-compatible endpoint',
});
const providerFields = {
  name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }),
  displayName: Type.String({ minLength: 1, maxLength: 200 }),
  kind: Kind,
  endpoint: Clearable(Type.String({ minLength: 1, maxLength: 2048, description: 'Base URL (required for openai-compatible, e.g. http://localhost:11434/v1)' })),
  apiKey: Clearable(Type.String({ minLength: 1, maxLength: 500, description: 'Write-only: sealed at rest, never returned' })),
  status: Status,
};
const ProviderView = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  displayName: Type.String(),
  kind: Kind,
  endpoint: Nullable(Type.String()),
  hasApiKey: Type.Boolean(),
  status: Status,
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
const Cost = Type.Number({ minimum: 0, maximum: 1000, description: 'USD per 1,000 tokens' });
const modelFields = {
  name: Type.String({ minLength: 1, maxLength: 128 }),
  providerId: Type.Integer({ minimum: 1 }),
  displayName: Type.String({ minLength: 1, maxLength: 200 }),
  inputCost: Cost,
  outputCost: Cost,
  maxTokens: Clearable(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
  contextWindow: Clearable(Type.Integer({ minimum: 1, maximum: 100_000_000 })),
  status: Status,
};
const ModelView = Type.Object({
  id: Type.Integer(),
  providerId: Type.Integer(),
  name: Type.String(),
  displayName: Type.String(),
  inputCost: Type.Number(),
  outputCost: Type.Number(),
  maxTokens: Nullable(Type.Integer()),
  contextWindow: Nullable(Type.Integer()),
  status: Status,
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
const UsageLog = Type.Object({
  id: Type.Integer(),
  provider: Type.String(),
  model: Type.String(),
  userId: Nullable(Type.String({ description: 'The user (seed 004’s userId: the username)' })),
  deviceId: Nullable(Type.Integer()),
  chatJid: Nullable(Type.String()),
  purpose: Type.String({ description: '`reply` or `test`' }),
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
  cost: Type.Number(),
  duration: Type.Integer({ description: 'Milliseconds' }),
  outcome: Type.String({ description: '`ok` or `error`' }),
  error: Nullable(Type.String()),
  timestamp: IsoDate,
});
const CostAlert = Type.Object({
  id: Type.Integer(),
  type: Type.Union([Type.Literal('daily_limit'), Type.Literal('monthly_limit')]),
  userId: Nullable(Type.String({ description: 'null: the whole platform' })),
  threshold: Type.Number(),
  current: Type.Number(),
  triggered: Type.Boolean(),
  date: Type.Optional(Type.String()),
  month: Type.Optional(Type.String()),
});
const Limit = Clearable(Type.Number({ minimum: 0, maximum: 1_000_000_000 }));

const aiAdminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['ai-admin'];
  const admin = { auth: 'admin', scope: 'admin' } as const;
  const key = app.config.encryptionKey;

  app.get('/api/whatsapp/ai/providers', {
    config: { scope: 'read' },
    schema: {
      tags: ['ai'],
      summary: 'AI providers and models to choose from (seed 004): active ones only',
      response: { 200: ok(Type.Array(Type.Object({ id: Type.Integer(), name: Type.String(), displayName: Type.String(), status: Type.Literal('active'), models: Type.Array(Type.String()) }))), ...errors(401, 429) },
    },
    handler: async (request) => ({ success: true, data: await activeProviders(request.em) }) as const,
  });

  app.get('/api/whatsapp/admin/ai/providers', {
    config: admin,
    schema: { tags, summary: 'Every AI provider (seed 004)', response: { 200: ok(Type.Array(ProviderView)), ...errors(401, 403, 429) } },
    handler: async (request) => ({ success: true, data: await listProviders(request.em) }) as const,
  });

  app.get('/api/whatsapp/admin/ai/providers/:id', {
    config: admin,
    schema: { tags, summary: 'One AI provider', params: IdParams, response: { 200: ok(ProviderView), ...errors(401, 403, 404, 429) } },
    handler: async (request) => ({ success: true, data: await getProvider(request.em, request.params.id) }) as const,
  });

  app.post('/api/whatsapp/admin/ai/providers', {
    config: admin,
    schema: {
      tags,
      summary: 'Add an AI provider (seed 004)',
      body: Type.Object({ ...Type.Partial(Type.Object(providerFields)).properties, name: providerFields.name }, { additionalProperties: false }),
      response: { 201: ok(ProviderView), ...errors(400, 401, 403, 409, 429) },
    },
    handler: async (request, reply) => {
      reply.code(201);
      return { success: true, data: await createProvider(request.em, key, request.body as ProviderInput) } as const;
    },
  });

  app.put('/api/whatsapp/admin/ai/providers/:id', {
    config: admin,
    schema: {
      tags,
      summary: 'Change an AI provider (seed 004); `apiKey: null` removes its key',
      params: IdParams,
      body: Type.Partial(Type.Object(providerFields), { additionalProperties: false }),
      response: { 200: ok(ProviderView), ...errors(400, 401, 403, 404, 409, 429) },
    },
    handler: async (request) => ({ success: true, data: await updateProvider(request.em, key, request.params.id, request.body as Partial<ProviderInput>) }) as const,
  });

  app.delete('/api/whatsapp/admin/ai/providers/:id', {
    config: admin,
    schema: { tags, summary: 'Remove an AI provider and its models (seed 004)', params: IdParams, response: { 200: Success, ...errors(401, 403, 404, 429) } },
    handler: async (request) => {
      await deleteProvider(request.em, request.params.id);
      return { success: true } as const;
    },
  });

  app.get('/api/whatsapp/admin/ai/models', {
    config: admin,
    schema: {
      tags,
      summary: 'Every AI model (seed 004)',
      querystring: Type.Object({ providerId: Type.Optional(Type.Integer({ minimum: 1 })) }),
      response: { 200: ok(Type.Array(ModelView)), ...errors(400, 401, 403, 429) },
    },
    handler: async (request) => ({ success: true, data: await listModels(request.em, request.query.providerId) }) as const,
  });

  app.post('/api/whatsapp/admin/ai/models', {
    config: admin,
    schema: {
      tags,
      summary: 'Add a model to a provider, with its prices (seed 004)',
      body: Type.Object({ ...Type.Partial(Type.Object(modelFields)).properties, name: modelFields.name, providerId: modelFields.providerId }, { additionalProperties: false }),
      response: { 201: ok(ModelView), ...errors(400, 401, 403, 409, 429) },
    },
    handler: async (request, reply) => {
      reply.code(201);
      return { success: true, data: await createModel(request.em, request.body as ModelInput) } as const;
    },
  });

  app.put('/api/whatsapp/admin/ai/models/:id', {
    config: admin,
    schema: {
      tags,
      summary: 'Change a model (seed 004)',
      params: IdParams,
      body: Type.Partial(Type.Object(modelFields), { additionalProperties: false }),
      response: { 200: ok(ModelView), ...errors(400, 401, 403, 404, 409, 429) },
    },
    handler: async (request) => ({ success: true, data: await updateModel(request.em, request.params.id, request.body as Partial<ModelInput>) }) as const,
  });

  app.delete('/api/whatsapp/admin/ai/models/:id', {
    config: admin,
    schema: { tags, summary: 'Remove a model (seed 004)', params: IdParams, response: { 200: Success, ...errors(401, 403, 404, 429) } },
    handler: async (request) => {
      await deleteModel(request.em, request.params.id);
      return { success: true } as const;
    },
  });

  app.get('/api/whatsapp/admin/ai/usage-logs', {
    config: admin,
    schema: {
      tags,
      summary: 'Every call to a model, newest first (seed 004); total and totalCost count every matching call',
      querystring: Type.Object({
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        cursor: Type.Optional(Type.String({ maxLength: 500 })),
        provider: Type.Optional(Type.String({ maxLength: 64 })),
        model: Type.Optional(Type.String({ maxLength: 128 })),
        userId: Type.Optional(UserKey),
        deviceId: Type.Optional(Type.Integer({ minimum: 1 })),
        purpose: Type.Optional(Type.Union([Type.Literal('reply'), Type.Literal('test')])),
        from: Type.Optional(IsoDate),
        to: Type.Optional(IsoDate),
      }),
      response: { 200: ok(Type.Object({ logs: Type.Array(UsageLog), total: Type.Integer(), totalCost: Type.Number(), nextCursor: Nullable(Type.String()) })), ...errors(400, 401, 403, 404, 429) },
    },
    handler: async (request) => {
      const { userId, ...filter } = request.query;
      const user = userId === undefined ? undefined : await resolveUser(request.em, principalOf(request), userId);
      return { success: true, data: await usageLogs(request.em, { ...filter, ...(user ? { userId: user.id } : {}) }) } as const;
    },
  });

  app.get('/api/whatsapp/admin/ai/cost-alerts', {
    config: admin,
    schema: { tags, summary: 'Cost limits with the spend of their current period (seed 004); UTC days and months', response: { 200: ok(Type.Object({ alerts: Type.Array(CostAlert) })), ...errors(401, 403, 429) } },
    handler: async (request) => {
      const now = app.clock();
      const limits = await costLimits(request.em);
      const users = limits.length ? await sqlOf(request.em)('select id, username from users where id in (?)', [limits.map((l) => l.userId ?? 0)]) : [];
      const usernames = new Map(users.map((u) => [Number(u.id), String(u.username)]));
      const alerts = [];
      for (const limit of limits) {
        for (const period of ['daily', 'monthly'] as const) {
          const threshold = period === 'daily' ? limit.dailyLimit : limit.monthlyLimit;
          if (threshold === null) continue;
          const { key: periodKey, start } = periodOf(period, now);
          const current = await spendSince(request.em, limit.userId, start);
          alerts.push({
            id: limit.id * 2 - (period === 'daily' ? 1 : 0),
            type: `${period === 'daily' ? 'daily' : 'monthly'}_limit` as const,
            userId: limit.userId === null ? null : (usernames.get(limit.userId) ?? null),
            threshold,
            current,
            triggered: current >= threshold,
            ...(period === 'daily' ? { date: periodKey } : { month: periodKey }),
          });
        }
      }
      return { success: true, data: { alerts } } as const;
    },
  });

  app.put('/api/whatsapp/admin/ai/cost-alerts', {
    config: admin,
    schema: {
      tags,
      summary: 'Set the cost limits of a user, or of the whole platform (no userId); null removes one',
      description: 'At a limit further replies stop with AI_COST_LIMIT_EXCEEDED and an `ai.cost-limit-reached` event (webhooks), until the period ends.',
      body: Type.Object({ userId: Type.Optional(UserKey), dailyLimit: Type.Optional(Limit), monthlyLimit: Type.Optional(Limit) }, { additionalProperties: false }),
      response: { 200: Success, ...errors(400, 401, 403, 404, 429) },
    },
    handler: async (request) => {
      const { userId, ...limits } = request.body;
      const user = userId === undefined ? undefined : await resolveUser(request.em, principalOf(request), userId);
      await setCostLimits(request.em, user?.id ?? null, limits);
      return { success: true } as const;
    },
  });
};

export default aiAdminRoutes;
