import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import type { Device } from '../../db/entities/device.ts';
import { AppError } from '../../domain/errors.ts';
import { startAndShow, type Shown } from '../../devices/device-login.ts';
import { createDevice, currentQr, deleteDevice, findDevice, logoutDevice, reachableDevices, requestPairingCode, resolveUser } from '../../devices/devices.ts';
import { normalizePhoneNumber } from '../../domain/phone-numbers.ts';
import type { LiveFeed } from '../../events/live-feed.ts';
import { DeviceSchema } from '../../db/entities/device.ts';
import { authContext } from '../plugins/context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams, IsoDate, ok, Success, UserKey, UserParams } from '../schemas.ts';

const DeviceView = Type.Object({
  id: Type.Integer(),
  userId: Type.String({ description: 'The user it belongs to, by your identifier for them' }),
  alias: Type.String(),
  sessionId: Type.String(),
  status: Type.String({ description: 'pending, connecting, connected, disconnected, logged_out or error' }),
  phoneNumber: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  createdAt: IsoDate,
  connectedAt: Type.Union([IsoDate, Type.Null()]),
});

function view(device: Device) {
  return {
    id: device.id,
    userId: device.user.username,
    alias: device.alias,
    sessionId: device.sessionId,
    status: device.status,
    phoneNumber: device.phoneNumber ?? null,
    metadata: device.metadata,
    createdAt: device.createdAt.toISOString(),
    connectedAt: device.connectedAt?.toISOString() ?? null,
  };
}

const Alias = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
const Metadata = Type.Record(Type.String(), Type.Unknown(), { description: 'Yours to set; echoed in webhook payloads' });
const UserRef = Type.Union([UserKey, Type.Integer({ minimum: 0, description: 'Taken as the identifier spelled in digits' })], {
  description: 'Your identifier for the user; yourself when omitted. An administrator may name anyone, and naming a new one provisions it',
});

// What the answer says while the devices projection catches up with what the session just showed.
const statusShown = (shown: Shown, device: Device) => ('qr' in shown ? 'pending' : 'connected' in shown ? 'connected' : device.status);
const QR_FOLLOWS = 'The QR code follows on the WebSocket (subscribe to its sessionId), on SSE and at GET /api/whatsapp/devices/{id}/qr.';

// Seed 004's device API. Status changes arrive asynchronously from the session host (see the event log).
const deviceRoutes: FastifyPluginAsyncTypebox<{ liveFeed: LiveFeed }> = async (app, { liveFeed }) => {
  const tags = ['devices'];
  const start = (request: FastifyRequest, device: Device) =>
    startAndShow({ em: request.em, coordination: app.coordination, liveFeed, waitMs: app.config.loginQrWaitMs }, device);

  app.post('/api/whatsapp/devices', {
    config: { scope: 'devices' },
    schema: {
      tags,
      summary: 'Create a device (a WhatsApp number to link); its QR follows on WebSocket, SSE and GET …/qr',
      body: Type.Object({ userId: Type.Optional(UserRef), alias: Alias, metadata: Type.Optional(Metadata) }, { additionalProperties: false }),
      response: {
        201: Type.Object({
          success: Type.Literal(true),
          device: Type.Object({ ...DeviceView.properties, apiKey: Type.String({ description: 'X-Device-API-Key, shown once' }) }),
          data: Type.Object({ ...DeviceView.properties, apiKey: Type.String() }),
          qr: Type.Optional(Type.String({ description: 'The QR to scan, when the session showed one within LOGIN_QR_WAIT; otherwise it follows on the WebSocket and at GET …/qr' })),
          message: Type.String(),
        }),
        ...errors(400, 401, 404, 409, 429),
      },
    },
    handler: async (request, reply) => {
      const { device, apiKey } = await createDevice(authContext(request), principalOf(request), request.body);
      const shown = await start(request, device);
      const created = { ...view(device), status: statusShown(shown, device), apiKey };
      return reply.code(201).send({
        success: true,
        device: created,
        data: created,
        ...('qr' in shown ? { qr: shown.qr, message: 'Device created successfully. Please scan the QR code.' } : { message: `Device created successfully. ${QR_FOLLOWS}` }),
      });
    },
  });

  app.get('/api/whatsapp/users/:userId/devices', {
    config: { scope: 'read' },
    schema: { tags, summary: "A user's devices", params: UserParams, response: { 200: ok(Type.Array(DeviceView)), ...errors(401, 404, 429) } },
    handler: async (request) => {
      const principal = principalOf(request);
      const user = await resolveUser(request.em, principal, request.params.userId);
      const devices = await request.em.find(DeviceSchema, { user, ...reachableDevices(principal) }, { orderBy: { id: 'asc' }, populate: ['user'] });
      return { success: true, data: devices.map(view) } as const;
    },
  });

  app.get('/api/whatsapp/devices/:id', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: 'A device', params: IdParams, response: { 200: ok(DeviceView), ...errors(401, 404, 429) } },
    handler: async (request) => ({ success: true, data: view(await findDevice(request.em, principalOf(request), request.params.id)) }) as const,
  });

  app.put('/api/whatsapp/devices/:id', {
    config: { scope: 'devices' },
    schema: {
      tags,
      summary: 'Change a device’s alias or metadata',
      params: IdParams,
      body: Type.Object({ alias: Type.Optional(Alias), metadata: Type.Optional(Metadata) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: ok(DeviceView), ...errors(400, 401, 404, 409, 429) },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      if (request.body.alias !== undefined) device.alias = request.body.alias;
      if (request.body.metadata !== undefined) device.metadata = request.body.metadata;
      await request.em.flush();
      return { success: true, data: view(device) } as const;
    },
  });

  app.delete('/api/whatsapp/devices/:id', {
    config: { scope: 'devices' },
    schema: { tags, summary: 'Delete a device: its session stops and its stored identity is erased', params: IdParams, response: { 200: Success, ...errors(401, 404, 429) } },
    handler: async (request) => {
      await deleteDevice(authContext(request), await findDevice(request.em, principalOf(request), request.params.id));
      return { success: true } as const;
    },
  });

  const LoginAnswer = Type.Object({
    success: Type.Literal(true),
    data: DeviceView,
    status: Type.String({ description: 'pending (a QR to scan), connected, or as it was when neither came within LOGIN_QR_WAIT' }),
    qr: Type.Optional(Type.String({ description: 'The QR to scan, raw (render it yourself)' })),
    qrCode: Type.Optional(Type.String({ description: 'The same QR as a PNG data URL' })),
    message: Type.String(),
  });
  app.post('/api/whatsapp/devices/:id/login', {
    config: { scope: 'devices' },
    schema: {
      tags,
      summary: 'Connect (or reconnect) the device; answers with its QR when it needs one (200), connected (200), or 202 while neither came within LOGIN_QR_WAIT',
      params: IdParams,
      response: { 200: LoginAnswer, 202: LoginAnswer, ...errors(401, 404, 429) },
    },
    handler: async (request, reply) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const shown = await start(request, device);
      const status = statusShown(shown, device);
      const data = { ...view(device), status };
      if ('qr' in shown) return reply.code(200).send({ success: true, data, status, qr: shown.qr, qrCode: await QRCode.toDataURL(shown.qr), message: 'Please scan the QR code.' });
      if ('connected' in shown) return reply.code(200).send({ success: true, data, status, message: 'Device connected.' });
      return reply.code(202).send({ success: true, data, status, message: `Connecting. ${QR_FOLLOWS}` });
    },
  });

  app.post('/api/whatsapp/devices/:id/pairing-code', {
    config: { scope: 'devices' },
    schema: {
      tags,
      summary: 'Link by phone number instead of QR: an 8-character code to type on the phone (Linked devices → Link with phone number)',
      params: IdParams,
      body: Type.Object({ phoneNumber: Type.String({ minLength: 1, maxLength: 32, description: 'The number of the phone that will link, in international form' }) }),
      response: {
        200: ok(Type.Object({ pairingCode: Type.String(), phoneNumber: Type.String() })),
        ...errors(400, 401, 404, 409, 429, 503),
      },
    },
    handler: async (request) => {
      const phoneDigits = normalizePhoneNumber(request.body.phoneNumber);
      if (!phoneDigits) throw new AppError('INVALID_PHONE_NUMBER', 'phoneNumber must be an international number such as +6281234567890');
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const pairingCode = await requestPairingCode(
        { em: request.em, coordination: app.coordination, liveFeed, timeoutMs: app.config.pairingCodeTimeoutMs },
        device,
        phoneDigits,
      );
      return { success: true, data: { pairingCode, phoneNumber: `+${phoneDigits}` } } as const;
    },
  });

  app.post('/api/whatsapp/devices/:id/logout', {
    config: { scope: 'devices' },
    schema: { tags, summary: 'Log the device out and forget its WhatsApp identity', params: IdParams, response: { 200: Success, ...errors(401, 404, 429) } },
    handler: async (request) => {
      await logoutDevice(request.em, await findDevice(request.em, principalOf(request), request.params.id));
      return { success: true } as const;
    },
  });

  app.get('/api/whatsapp/devices/:id/qr', {
    config: { scope: 'devices' },
    schema: {
      tags,
      summary: 'The QR to scan now, as a PNG data URL (and the raw string)',
      params: IdParams,
      response: {
        200: Type.Object({ success: Type.Literal(true), qrCode: Type.String(), qr: Type.String(), status: Type.String() }),
        ...errors(401, 404, 409, 429),
      },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const qr = await currentQr(request.em, device);
      if (!qr) throw new AppError('DEVICE_ALREADY_CONNECTED', 'Device is already connected or QR code not available');
      return { success: true, qrCode: await QRCode.toDataURL(qr), qr, status: device.status } as const;
    },
  });
};

export default deviceRoutes;
