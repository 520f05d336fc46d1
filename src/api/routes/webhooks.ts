import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { WebhookEndpointSchema, type WebhookEndpoint } from '../../db/entities/webhook-endpoint.ts';
import { findDevice } from '../../devices/devices.ts';
import { createEndpoint, deleteEndpoint, deviceEndpoint, type EndpointInput, endpointView, findEndpoint, liveSecrets, rotateSecret, updateEndpoint } from '../../webhooks/endpoints.ts';
import { findDelivery, listDeliveries, redeliver, replay } from '../../webhooks/deliveries.ts';
import { openHeaders } from '../../webhooks/headers.ts';
import { createWebhookPoster } from '../../webhooks/post.ts';
import { signatureHeaders } from '../../webhooks/signatures.ts';
import type { Queues } from '../../workers/queues.ts';
import { serviceContext } from '../plugins/context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams, IsoDate, ok, Success, UserKey } from '../schemas.ts';

const EventFilter = Type.Array(Type.String({ minLength: 1, maxLength: 100, pattern: '^(\\*|[a-z_-]+(\\.[a-z_-]+)*(\\.\\*)?)$' }), {
  minItems: 1,
  maxItems: 50,
  description: '`*`, names (`message`, `status`, `message.received`) or prefixes (`message.*`)',
});
const Headers = Type.Record(Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" }), Type.String({ maxLength: 1000 }), {
  description: 'Sent with every request (signature headers cannot be replaced)',
});
const Secret = Type.String({ minLength: 16, maxLength: 200, description: 'Generated (`whsec_…`) when absent' });
const MaxRetries = Type.Union([Type.Integer({ minimum: 0, maximum: 20 }), Type.Null()], { description: 'Retries after the first attempt; null: the whole schedule' });
const RateLimit = Type.Union([Type.Integer({ minimum: 1, maximum: 10_000 }), Type.Null()], { description: 'Requests per second at most' });

const EndpointFields = {
  url: Type.String({ minLength: 1, maxLength: 2048 }),
  events: Type.Optional(EventFilter),
  deviceId: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: "Only this device's events" })),
  headers: Type.Optional(Headers),
  enabled: Type.Optional(Type.Boolean()),
  description: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  retryOnFailure: Type.Optional(Type.Boolean()),
  maxRetries: Type.Optional(MaxRetries),
  rateLimit: Type.Optional(RateLimit),
  inlineMedia: Type.Optional(Type.Boolean({ description: "Received media's bytes in the payload (data.media.data, base64, up to 5 MiB) beside its signed downloadUrl" })),
};

const { deviceId: _scope, ...UpdatableFields } = EndpointFields;

const EndpointView = Type.Object({
  id: Type.String(),
  userId: Type.Integer(),
  deviceId: Type.Union([Type.Integer(), Type.Null()]),
  kind: Type.String({ description: 'endpoint, device-settings (seed 004) or session (seed 003)' }),
  format: Type.String({ description: 'standard (seed 004 envelope) or seed003' }),
  url: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  events: Type.Array(Type.String()),
  headers: Type.Record(Type.String(), Type.String(), { description: 'The custom headers set, values masked (••••): they are sealed at rest and never shown again' }),
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.String(), Type.Null()]),
  disabledAt: Type.Union([IsoDate, Type.Null()]),
  retryOnFailure: Type.Boolean(),
  maxRetries: Type.Union([Type.Integer(), Type.Null()]),
  rateLimit: Type.Union([Type.Integer(), Type.Null()]),
  inlineMedia: Type.Boolean(),
  failingSince: Type.Union([IsoDate, Type.Null()]),
  secretRotatedUntil: Type.Union([IsoDate, Type.Null()], { description: 'The previous secret still signs until then' }),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
const WithSecret = Type.Object({ ...EndpointView.properties, secret: Type.String({ description: 'Shown only now' }) });

const AttemptView = Type.Object({
  number: Type.Integer(),
  at: IsoDate,
  outcome: Type.String(),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  latencyMs: Type.Integer(),
  responseSnippet: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
});
const DeliveryView = Type.Object({
  id: Type.String(),
  endpointId: Type.String(),
  eventId: Type.String({ description: 'Also the `webhook-id` header and the payload `id`' }),
  eventPosition: Type.Integer(),
  eventType: Type.String(),
  status: Type.String({ description: 'retrying, delivered, failed (a dead letter) or redelivering' }),
  attempts: Type.Integer(),
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  lastAttemptAt: Type.Union([IsoDate, Type.Null()]),
  nextAttemptAt: Type.Union([IsoDate, Type.Null()]),
  deliveredAt: Type.Union([IsoDate, Type.Null()]),
  createdAt: IsoDate,
  attemptLog: Type.Array(AttemptView),
});
const DeliveryPage = Type.Object({
  success: Type.Literal(true),
  data: Type.Array(DeliveryView),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
const DeliveryQuery = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal('retrying'), Type.Literal('delivered'), Type.Literal('failed'), Type.Literal('redelivering')])),
  since: Type.Optional(IsoDate),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 500, description: 'The `nextCursor` of the previous page' })),
});

const WebhookParams = Type.Object({ id: Type.String({ pattern: '^whe_[0-9a-f]{24}$' }) });
const DeliveryParams = Type.Object({ id: WebhookParams.properties.id, deliveryId: Type.String({ pattern: '^dlv_[0-9a-f]{32}$' }) });

// Seed 004's per-device webhook settings.
const DeviceSettings = Type.Object({
  webhookUrl: Type.Union([Type.String(), Type.Null()]),
  enabled: Type.Boolean(),
  events: Type.Array(Type.String()),
  retryOnFailure: Type.Boolean(),
  maxRetries: Type.Union([Type.Integer(), Type.Null()]),
  webhookId: Type.Union([Type.String(), Type.Null()], { description: 'The endpoint under /api/whatsapp/webhooks (deliveries, replay)' }),
  secret: Type.Optional(Type.String({ description: 'Only when the platform generated it, shown once' })),
});

function settingsView(endpoint: WebhookEndpoint | null) {
  return {
    webhookUrl: endpoint?.url ?? null,
    enabled: endpoint?.enabled ?? false,
    events: endpoint?.events ?? ['message', 'connection', 'qr', 'status'],
    retryOnFailure: endpoint?.retryOnFailure ?? true,
    maxRetries: endpoint?.maxRetries ?? null,
    webhookId: endpoint?.id ?? null,
  };
}

// Webhook endpoints, their deliveries, redelivery, replay and a test ping; seed 004's per-device settings.
const webhookRoutes: FastifyPluginAsyncTypebox<{ queues: Queues }> = async (app, { queues }) => {
  const tags = ['webhooks'];
  const poster = createWebhookPoster({ timeoutMs: app.config.webhooks.timeoutMs, allowPrivate: app.config.webhooks.allowPrivate });
  app.addHook('onClose', async () => poster.close());

  app.post('/api/whatsapp/webhooks', {
    config: { scope: 'webhooks' },
    schema: {
      tags,
      summary: 'Add a webhook endpoint (its secret is shown once)',
      body: Type.Object(
        { ...EndpointFields, secret: Type.Optional(Secret), userId: Type.Optional(UserKey) },
        { additionalProperties: false },
      ),
      response: { 201: ok(WithSecret), ...errors(400, 401, 404, 429) },
    },
    handler: async (request, reply) => {
      const { endpoint, secret } = await createEndpoint(serviceContext(request), principalOf(request), request.body as EndpointInput & { url: string });
      return reply.code(201).send({ success: true, data: { ...endpointView(endpoint), secret } });
    },
  });

  app.get('/api/whatsapp/webhooks', {
    config: { scope: 'webhooks' },
    schema: { tags, summary: 'Your webhook endpoints', response: { 200: ok(Type.Array(EndpointView)), ...errors(401, 429) } },
    handler: async (request) => {
      const principal = principalOf(request);
      const bound = principal.deviceIds === undefined ? {} : { device: { $in: [...principal.deviceIds] } };
      const endpoints = await request.em.find(WebhookEndpointSchema, { user: principal.userId, ...bound }, { orderBy: { createdAt: 'asc' } });
      return { success: true, data: endpoints.map(endpointView) } as const;
    },
  });

  app.get('/api/whatsapp/webhooks/dead-letters', {
    config: { scope: 'webhooks' },
    schema: {
      tags,
      summary: 'Deliveries of all your endpoints that ran out of retries (or were abandoned)',
      querystring: Type.Omit(DeliveryQuery, ['status']),
      response: { 200: DeliveryPage, ...errors(400, 401, 429) },
    },
    handler: async (request) => {
      const { since, limit, cursor } = request.query;
      const principal = principalOf(request);
      const bound = principal.deviceIds === undefined ? {} : { deviceIds: principal.deviceIds };
      const page = await listDeliveries(request.em, { tenantId: principal.userId, status: 'failed', ...bound, ...(since ? { since: new Date(since) } : {}) }, limit, cursor);
      return { success: true, data: page.items, nextCursor: page.nextCursor } as const;
    },
  });

  app.get('/api/whatsapp/webhooks/:id', {
    config: { scope: 'webhooks' },
    schema: { tags, summary: 'A webhook endpoint', params: WebhookParams, response: { 200: ok(EndpointView), ...errors(401, 404, 429) } },
    handler: async (request) => ({ success: true, data: endpointView(await findEndpoint(request.em, principalOf(request), request.params.id)) }) as const,
  });

  app.put('/api/whatsapp/webhooks/:id', {
    config: { scope: 'webhooks' },
    schema: {
      tags,
      summary: 'Change a webhook endpoint; enabling a disabled one with `replayMissed` re-sends what it missed',
      params: WebhookParams,
      body: Type.Object(
        { ...UpdatableFields, url: Type.Optional(EndpointFields.url), replayMissed: Type.Optional(Type.Boolean({ description: 'With enabled: true' })) },
        { additionalProperties: false },
      ),
      response: { 200: ok(Type.Object({ ...EndpointView.properties, replayId: Type.Optional(Type.String()) })), ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const endpoint = await findEndpoint(request.em, principalOf(request), request.params.id);
      const { replayMissed, ...changes } = request.body;
      const { disabledAt } = await updateEndpoint(serviceContext(request), endpoint, changes as EndpointInput);
      const replayId = replayMissed && disabledAt ? await replay(request.em, queues.webhooks, endpoint, { since: disabledAt }, request.server.clock()) : undefined;
      return { success: true, data: { ...endpointView(endpoint), ...(replayId ? { replayId } : {}) } } as const;
    },
  });

  app.delete('/api/whatsapp/webhooks/:id', {
    config: { scope: 'webhooks' },
    schema: { tags, summary: 'Remove a webhook endpoint (deliveries waiting for it are abandoned)', params: WebhookParams, response: { 200: Success, ...errors(401, 404, 429) } },
    handler: async (request) => {
      await deleteEndpoint(serviceContext(request), await findEndpoint(request.em, principalOf(request), request.params.id));
      return { success: true } as const;
    },
  });

  app.post('/api/whatsapp/webhooks/:id/rotate-secret', {
    config: { scope: 'webhooks' },
    schema: {
      tags,
      summary: 'A new secret, shown once; the old one keeps signing beside it for WEBHOOK_SECRET_GRACE',
      params: WebhookParams,
      response: { 200: ok(WithSecret), ...errors(401, 404, 429) },
    },
    handler: async (request) => {
      const endpoint = await findEndpoint(request.em, principalOf(request), request.params.id);
      const secret = await rotateSecret(serviceContext(request), endpoint);
      return { success: true, data: { ...endpointView(endpoint), secret } } as const;
    },
  });

  app.get('/api/whatsapp/webhooks/:id/deliveries', {
    config: { scope: 'webhooks' },
    schema: { tags, summary: "An endpoint's deliveries with their attempts, newest first", params: WebhookParams, querystring: DeliveryQuery, response: { 200: DeliveryPage, ...errors(400, 401, 404, 429) } },
    handler: async (request) => {
      const endpoint = await findEndpoint(request.em, principalOf(request), request.params.id);
      const { status, since, limit, cursor } = request.query;
      const page = await listDeliveries(request.em, { endpointId: endpoint.id, ...(status ? { status } : {}), ...(since ? { since: new Date(since) } : {}) }, limit, cursor);
      return { success: true, data: page.items, nextCursor: page.nextCursor } as const;
    },
  });

  app.get('/api/whatsapp/webhooks/:id/deliveries/:deliveryId', {
    config: { scope: 'webhooks' },
    schema: { tags, summary: 'One delivery with its attempts', params: DeliveryParams, response: { 200: ok(DeliveryView), ...errors(401, 404, 429) } },
    handler: async (request) => {
      const endpoint = await findEndpoint(request.em, principalOf(request), request.params.id);
      return { success: true, data: await findDelivery(request.em, endpoint, request.params.deliveryId) } as const;
    },
  });

  app.post('/api/whatsapp/webhooks/:id/deliveries/:deliveryId/redeliver', {
    config: { scope: 'webhooks' },
    schema: {
      tags,
      summary: 'Send a finished delivery again, from a first attempt (same webhook-id)',
      params: DeliveryParams,
      response: { 202: Success, ...errors(400, 401, 404, 429) },
    },
    handler: async (request, reply) => {
      const endpoint = await findEndpoint(request.em, principalOf(request), request.params.id);
      await redeliver(request.em, queues.webhooks, endpoint, await findDelivery(request.em, endpoint, request.params.deliveryId));
      return reply.code(202).send({ success: true });
    },
  });

  app.post('/api/whatsapp/webhooks/:id/replay', {
    config: { scope: 'webhooks' },
    schema: {
      tags,
      summary: 'Deliver again every event of a time range the endpoint receives (optionally only some names)',
      params: WebhookParams,
      body: Type.Object({ since: IsoDate, until: Type.Optional(IsoDate), events: Type.Optional(EventFilter) }, { additionalProperties: false }),
      response: { 202: ok(Type.Object({ replayId: Type.String() })), ...errors(400, 401, 404, 429) },
    },
    handler: async (request, reply) => {
      const endpoint = await findEndpoint(request.em, principalOf(request), request.params.id);
      const { since, until, events } = request.body;
      const range = { since: new Date(since), ...(until ? { until: new Date(until) } : {}), ...(events ? { events } : {}) };
      const replayId = await replay(request.em, queues.webhooks, endpoint, range, request.server.clock());
      return reply.code(202).send({ success: true, data: { replayId } });
    },
  });

  app.post('/api/whatsapp/webhooks/:id/test', {
    config: { scope: 'webhooks' },
    schema: {
      tags,
      summary: 'Send a signed `ping` now and report how the receiver answered (not retried)',
      params: WebhookParams,
      response: {
        200: ok(
          Type.Object({
            delivered: Type.Boolean(),
            statusCode: Type.Union([Type.Integer(), Type.Null()]),
            latencyMs: Type.Integer(),
            responseSnippet: Type.Union([Type.String(), Type.Null()]),
            error: Type.Union([Type.String(), Type.Null()]),
          }),
        ),
        ...errors(401, 404, 429),
      },
    },
    handler: async (request) => {
      const endpoint = await findEndpoint(request.em, principalOf(request), request.params.id);
      const now = request.server.clock();
      const id = randomUUID();
      const deviceId = endpoint.device ? String(endpoint.device.id) : null;
      const body = JSON.stringify({ id, event: 'ping', type: 'ping', eventType: 'webhook.ping', timestamp: now.toISOString(), deviceId, data: { webhookId: endpoint.id } });
      const secrets = liveSecrets(endpoint, request.server.config.encryptionKey, now);
      const headers = { ...openHeaders(request.server.config.encryptionKey, endpoint), ...signatureHeaders(body, secrets, id, Math.floor(now.getTime() / 1000)), 'x-webhook-event': 'ping' };
      const outcome = await poster.post(new URL(endpoint.url), headers, body);
      const delivered = outcome.statusCode !== undefined && outcome.statusCode >= 200 && outcome.statusCode < 300;
      return {
        success: true,
        data: {
          delivered,
          statusCode: outcome.statusCode ?? null,
          latencyMs: outcome.latencyMs,
          responseSnippet: outcome.responseSnippet ?? null,
          error: outcome.error ?? (delivered ? null : `HTTP ${outcome.statusCode}`),
        },
      } as const;
    },
  });

  app.get('/api/whatsapp/devices/:id/settings/webhook', {
    config: { scope: 'webhooks' },
    schema: { tags, summary: "A device's webhook settings (seed 004)", params: IdParams, response: { 200: ok(DeviceSettings), ...errors(401, 404, 429) } },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      return { success: true, data: settingsView(await deviceEndpoint(request.em, device, 'device-settings')) } as const;
    },
  });

  app.put('/api/whatsapp/devices/:id/settings/webhook', {
    config: { scope: 'webhooks' },
    schema: {
      tags,
      summary: "Set a device's webhook (seed 004); an empty webhookUrl removes it",
      params: IdParams,
      body: Type.Object(
        {
          webhookUrl: Type.Union([Type.String({ maxLength: 2048 }), Type.Null()]),
          enabled: Type.Optional(Type.Boolean()),
          events: Type.Optional(EventFilter),
          secret: Type.Optional(Secret),
          retryOnFailure: Type.Optional(Type.Boolean()),
          maxRetries: Type.Optional(MaxRetries),
        },
        { additionalProperties: false },
      ),
      response: { 200: ok(DeviceSettings), ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const ctx = serviceContext(request);
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const existing = await deviceEndpoint(request.em, device, 'device-settings');
      const { webhookUrl, ...settings } = request.body;
      if (!webhookUrl) {
        if (existing) await deleteEndpoint(ctx, existing);
        return { success: true, data: settingsView(null) } as const;
      }
      if (existing) {
        await updateEndpoint(ctx, existing, { ...settings, url: webhookUrl });
        return { success: true, data: settingsView(existing) } as const;
      }
      const { endpoint, secret } = await createEndpoint(ctx, principalOf(request), { ...settings, url: webhookUrl }, { kind: 'device-settings', device });
      return { success: true, data: { ...settingsView(endpoint), ...(settings.secret ? {} : { secret }) } } as const;
    },
  });
};

export default webhookRoutes;
