import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { DeviceSchema, type Device } from '../../db/entities/device.ts';
import { WebhookEndpointSchema } from '../../db/entities/webhook-endpoint.ts';
import type { Principal } from '../../auth/context.ts';
import { createDevice, deleteDevice, findDevice, reachableDevices, setDesiredState } from '../../devices/devices.ts';
import { AppError } from '../../domain/errors.ts';
import { aliasOf, cleanSessionName, SESSION_NAME_MAX, SESSION_NAME_PATTERN } from '../../domain/session-names.ts';
import { createEndpoint, deleteEndpoint, deviceEndpoint, updateEndpoint, type WebhookContext } from '../../webhooks/endpoints.ts';
import { authContext, serviceContext } from '../plugins/context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams, Success } from '../schemas.ts';
import { transaction } from '../../db/transactions.ts';

// Seed 003's multi-session API: the same devices under `/api/sessions`, in seed 003's shapes (`connected`,
// `logged_in`, snake_case). A session's `name` is free text; the device's alias is its URL-safe form.
const SessionView = Type.Object({
  id: Type.Integer({ description: 'What /api/sessions/{id} takes, and the `session_id` of seed 003 webhook payloads' }),
  name: Type.String({ description: 'As given ("Business Support"); the alias for devices created by seed 004' }),
  alias: Type.String({ description: 'The URL-safe form of the name ("Business-Support"), seed 004’s alias' }),
  session_id: Type.String({ description: 'Seed 004’s session id (`sessionId` of /api/whatsapp/send), fixed at creation' }),
  phone: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  connected: Type.Boolean(),
  logged_in: Type.Boolean({ description: 'Linked to a WhatsApp account (it may be reconnecting)' }),
  webhook_url: Type.Union([Type.String(), Type.Null()], { description: 'Receives seed 003 message payloads (signed as every webhook)' }),
});

function view(device: Device, webhookUrl: string | null) {
  return {
    id: device.id,
    name: device.name ?? device.alias,
    alias: device.alias,
    session_id: device.sessionId,
    phone: device.phoneNumber?.replace(/^\+/, '') ?? null,
    status: device.status,
    connected: device.status === 'connected',
    logged_in: Boolean(device.phoneNumber) && device.status !== 'logged_out',
    webhook_url: webhookUrl,
  };
}

// A session's `webhook_url` is a webhook endpoint of kind `session` on its device.
async function views(em: EntityManager, devices: Device[]) {
  const endpoints = await em.find(WebhookEndpointSchema, { device: { $in: devices.map((d) => d.id) }, kind: 'session' });
  const urls = new Map(endpoints.map((e) => [e.device!.id, e.url]));
  return devices.map((device) => view(device, urls.get(device.id) ?? null));
}

const viewOf = async (em: EntityManager, device: Device) => (await views(em, [device]))[0]!;

// Sets, replaces or (with an empty URL) removes a session's webhook.
async function setSessionWebhook(ctx: WebhookContext, principal: Principal, device: Device, url: string | null): Promise<void> {
  const existing = await deviceEndpoint(ctx.em, device, 'session');
  if (!url) {
    if (existing) await deleteEndpoint(ctx, existing);
  } else if (existing) {
    await updateEndpoint(ctx, existing, { url });
  } else {
    await createEndpoint(ctx, principal, { url, events: ['message'] }, { kind: 'session', format: 'seed003', device });
  }
}

const Name = Type.String({
  minLength: 1,
  maxLength: SESSION_NAME_MAX,
  pattern: SESSION_NAME_PATTERN,
  description: 'Free text without control characters, trimmed; its URL-safe form ("Business Support" → "Business-Support") must be unique among your sessions',
});

// Two names with the same URL-safe form would share an alias: the second is refused, not silently renamed. (A
// session renamed away from a name keeps that name's alias in its session id, which is fixed, so the name stays taken.)
const nameTaken = (name: string, alias: string) =>
  new AppError('DEVICE_ALREADY_EXISTS', `The session name "${name}" is taken: another of your sessions already uses its URL-safe form "${alias}" (as its alias or in its session id)`);
const WebhookUrl = Type.Union([Type.String({ maxLength: 2048 }), Type.Null()], { description: 'Empty or null: none' });

const sessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['sessions (seed 003)'];

  app.get('/api/sessions', {
    config: { scope: 'read' },
    schema: { tags, summary: 'Your sessions', response: { 200: Type.Array(SessionView), ...errors(401, 429) } },
    handler: async (request) => {
      const principal = principalOf(request);
      const devices = await request.em.find(DeviceSchema, { user: principal.userId, ...reachableDevices(principal) }, { orderBy: { id: 'asc' } });
      return views(request.em, devices);
    },
  });

  app.post('/api/sessions', {
    config: { scope: 'devices' },
    schema: {
      tags,
      summary: 'Create a session (connect it with POST /api/sessions/{id}/connect and scan its QR)',
      body: Type.Object({ name: Name, webhook_url: Type.Optional(WebhookUrl) }, { additionalProperties: false }),
      response: { 201: Type.Object({ ...SessionView.properties, api_key: Type.String() }), ...errors(400, 401, 409, 429) },
    },
    handler: async (request, reply) => {
      const ctx = serviceContext(request);
      const name = cleanSessionName(request.body.name);
      const alias = aliasOf(name);
      const { device, apiKey } = await transaction(ctx.em, async (em) => {
        const inTransaction = { ...ctx, em: em as EntityManager };
        const created = await createDevice(inTransaction, principalOf(request), { alias, name }).catch((err: unknown) => {
          throw err instanceof AppError && err.code === 'DEVICE_ALREADY_EXISTS' ? nameTaken(name, alias) : err;
        });
        // Seed 003 connects on demand, not at creation.
        await setDesiredState(em as EntityManager, created.device, 'stopped');
        if (request.body.webhook_url) await setSessionWebhook(inTransaction, principalOf(request), created.device, request.body.webhook_url);
        return created;
      });
      return reply.code(201).send({ ...(await viewOf(request.em, device)), api_key: apiKey });
    },
  });

  app.get('/api/sessions/:id', {
    config: { scope: 'read' },
    schema: { tags, summary: 'A session', params: IdParams, response: { 200: SessionView, ...errors(401, 404, 429) } },
    handler: async (request) => viewOf(request.em, await findDevice(request.em, principalOf(request), request.params.id)),
  });

  app.put('/api/sessions/:id/webhook', {
    config: { scope: 'webhooks' },
    schema: {
      tags,
      summary: "Set or remove the session's webhook URL (seed 003 payloads: {session_id, message})",
      params: IdParams,
      body: Type.Object({ webhook_url: WebhookUrl }, { additionalProperties: false }),
      response: { 200: SessionView, ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      await setSessionWebhook(serviceContext(request), principalOf(request), device, request.body.webhook_url);
      return viewOf(request.em, device);
    },
  });

  app.delete('/api/sessions/:id', {
    config: { scope: 'devices' },
    schema: { tags, summary: 'Delete a session', params: IdParams, response: { 200: Success, ...errors(401, 404, 429) } },
    handler: async (request) => {
      await deleteDevice(authContext(request), await findDevice(request.em, principalOf(request), request.params.id));
      return { success: true } as const;
    },
  });

  app.put('/api/sessions/:id/name', {
    config: { scope: 'devices' },
    schema: {
      tags,
      summary: 'Rename a session (its alias follows the name; its id and session id stay)',
      params: IdParams,
      body: Type.Object({ name: Name }, { additionalProperties: false }),
      response: { 200: SessionView, ...errors(400, 401, 404, 409, 429) },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      device.name = cleanSessionName(request.body.name);
      device.alias = aliasOf(device.name);
      try {
        await request.em.flush();
      } catch (err) {
        throw err instanceof UniqueConstraintViolationException ? nameTaken(device.name, device.alias) : err;
      }
      return viewOf(request.em, device);
    },
  });

  for (const [action, state] of [['connect', 'running'], ['disconnect', 'stopped']] as const) {
    app.post(`/api/sessions/:id/${action}`, {
      config: { scope: 'devices' },
      schema: {
        tags,
        summary: action === 'connect' ? 'Start the session (its QR follows on /api/ws/{id})' : 'Disconnect the session (it stays linked)',
        params: IdParams,
        response: { 200: SessionView, ...errors(401, 404, 429) },
      },
      handler: async (request) => {
        const device = await findDevice(request.em, principalOf(request), request.params.id);
        await setDesiredState(request.em, device, state);
        return viewOf(request.em, device);
      },
    });
  }
};

export default sessionRoutes;
