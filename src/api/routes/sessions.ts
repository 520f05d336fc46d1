import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DeviceSchema, type Device } from '../../db/entities/device.ts';
import { createDevice, findDevice, setDesiredState } from '../../devices/devices.ts';
import { authContext } from '../plugins/context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams, Success } from '../schemas.ts';

// Seed 003's multi-session API: the same devices under `/api/sessions`, in seed 003's shapes (`connected`,
// `logged_in`, snake_case). A session's `name` is the device's alias.
const SessionView = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  session_id: Type.String(),
  phone: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  connected: Type.Boolean(),
  logged_in: Type.Boolean({ description: 'Linked to a WhatsApp account (it may be reconnecting)' }),
});

function view(device: Device) {
  return {
    id: device.id,
    name: device.alias,
    session_id: device.sessionId,
    phone: device.phoneNumber?.replace(/^\+/, '') ?? null,
    status: device.status,
    connected: device.status === 'connected',
    logged_in: Boolean(device.phoneNumber) && device.status !== 'logged_out',
  };
}

const Name = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });

const sessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['sessions (seed 003)'];

  app.get('/api/sessions', {
    schema: { tags, summary: 'Your sessions', response: { 200: Type.Array(SessionView), ...errors(401, 429) } },
    handler: async (request) => {
      const devices = await request.em.find(DeviceSchema, { user: principalOf(request).userId }, { orderBy: { id: 'asc' } });
      return devices.map(view);
    },
  });

  app.post('/api/sessions', {
    schema: {
      tags,
      summary: 'Create a session (connect it with POST /api/sessions/{id}/connect and scan its QR)',
      // `webhook_url` arrives with the webhooks (refused until then rather than ignored).
      body: Type.Object({ name: Name }, { additionalProperties: false }),
      response: { 201: Type.Object({ ...SessionView.properties, api_key: Type.String() }), ...errors(400, 401, 409, 429) },
    },
    handler: async (request, reply) => {
      const { device, apiKey } = await createDevice(authContext(request), principalOf(request), { alias: request.body.name });
      // Seed 003 connects on demand, not at creation.
      await setDesiredState(request.em, device, 'stopped');
      return reply.code(201).send({ ...view(device), api_key: apiKey });
    },
  });

  app.get('/api/sessions/:id', {
    schema: { tags, summary: 'A session', params: IdParams, response: { 200: SessionView, ...errors(401, 404, 429) } },
    handler: async (request) => view(await findDevice(request.em, principalOf(request), request.params.id)),
  });

  app.delete('/api/sessions/:id', {
    schema: { tags, summary: 'Delete a session', params: IdParams, response: { 200: Success, ...errors(401, 404, 429) } },
    handler: async (request) => {
      await request.em.remove(await findDevice(request.em, principalOf(request), request.params.id)).flush();
      return { success: true } as const;
    },
  });

  app.put('/api/sessions/:id/name', {
    schema: { tags, summary: 'Rename a session', params: IdParams, body: Type.Object({ name: Name }), response: { 200: SessionView, ...errors(400, 401, 404, 429) } },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      device.alias = request.body.name;
      await request.em.flush();
      return view(device);
    },
  });

  for (const [action, state] of [['connect', 'running'], ['disconnect', 'stopped']] as const) {
    app.post(`/api/sessions/:id/${action}`, {
      schema: {
        tags,
        summary: action === 'connect' ? 'Start the session (its QR follows on /api/ws/{id})' : 'Disconnect the session (it stays linked)',
        params: IdParams,
        response: { 200: SessionView, ...errors(401, 404, 429) },
      },
      handler: async (request) => {
        const device = await findDevice(request.em, principalOf(request), request.params.id);
        await setDesiredState(request.em, device, state);
        return view(device);
      },
    });
  }
};

export default sessionRoutes;
