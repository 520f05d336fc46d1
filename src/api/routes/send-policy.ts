import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { findDevice } from '../../devices/devices.ts';
import { isTimeZone } from '../../domain/send-policy.ts';
import { AppError } from '../../domain/errors.ts';
import { policyView, saveSettings, setOwnerHold, type PolicyDevice } from '../../policy/send-policy.ts';
import { sqlOf } from '../../events/event-store.ts';
import { principalOf } from '../plugins/auth.ts';
import { Clearable, errors, IsoDate, Nullable, ok } from '../schemas.ts';

// A number's send policy (src/policy): its caps and their use today, its health, what holds it, and its settings.

const HHMM = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' });
const Settings = {
  ramp: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 100_000 }), { minItems: 1, maxItems: 365, description: 'Sends per day on day 1, 2, … of the warm-up' })),
  dailyCap: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'Sends per day after the ramp' })),
  newContactsRamp: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 100_000 }), { minItems: 1, maxItems: 365, description: 'First messages to new contacts per day on day 1, 2, …' })),
  newContactsCap: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
  warmupFrom: Type.Optional(Clearable(Type.String({ format: 'date', description: 'The warm-up’s day 1 (default: the device’s creation); null: no ramp, for a number already old' }))),
  sendingHours: Type.Optional(Type.Union([Type.Null(), Type.Object({ start: HHMM, end: HHMM }, { additionalProperties: false })], { description: 'Sends only between these times (null: any time); replies always go' })),
  timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA name: the day the counts reset and the sending hours (default SEND_POLICY_TIME_ZONE)' })),
  firstContactPauseSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400 })),
  pauseSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400 })),
  stopSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400 })),
};
const PolicyView = Type.Object({
  settings: Type.Object({
    ramp: Type.Array(Type.Integer()),
    dailyCap: Type.Integer(),
    newContactsRamp: Type.Array(Type.Integer()),
    newContactsCap: Type.Integer(),
    warmupFrom: Nullable(Type.String()),
    sendingHours: Nullable(Type.Object({ start: Type.String(), end: Type.String() })),
    timeZone: Type.String(),
    firstContactPauseSeconds: Type.Integer(),
    pauseSeconds: Type.Integer(),
    stopSeconds: Type.Integer(),
  }),
  today: Type.Object({
    day: Type.String(),
    ageDays: Nullable(Type.Integer({ description: 'Days since warmupFrom (0 on its day); null: no ramp' })),
    dailyCap: Type.Integer(),
    sent: Type.Integer(),
    newContactsCap: Type.Integer(),
    newContacts: Type.Integer(),
  }),
  health: Type.Object({ score: Type.Number(), level: Type.String({ description: 'good, slowed (half rate), paused (replies only), stopped' }) }),
  paused: Type.Object({
    byOwner: Type.Boolean(),
    health: Nullable(Type.Object({ level: Type.String(), until: IsoDate, reason: Type.String() })),
    firstContactsUntil: Nullable(IsoDate),
  }),
  heldMessages: Type.Integer({ description: 'Queued messages the policy keeps waiting' }),
});
const Params = Type.Object({ id: Type.Integer({ minimum: 1 }) });

const sendPolicyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['send policy'];
  const { timeZone } = app.config.sending.policy;
  const deviceOf = async (request: FastifyRequest, id: number): Promise<PolicyDevice> => {
    const device = await findDevice(request.em, principalOf(request), id);
    return { id: device.id, userId: device.user.id, sessionId: device.sessionId };
  };

  app.get('/api/whatsapp/devices/:id/send-policy', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: "A number's send policy: caps and their use today, health, pauses, held messages", params: Params, response: { 200: ok(PolicyView), ...errors(401, 404, 429) } },
    handler: async (request) => {
      const device = await deviceOf(request, request.params.id);
      return { success: true, data: await policyView(request.em, device.id, timeZone, app.clock()) } as const;
    },
  });

  app.put('/api/whatsapp/devices/:id/send-policy', {
    config: { auth: 'any', scope: 'devices' },
    schema: {
      tags,
      summary: 'Change the settings (fields left out keep theirs); `paused: true` holds every message until resumed',
      params: Params,
      body: Type.Object({ ...Settings, paused: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: ok(PolicyView), ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const device = await deviceOf(request, request.params.id);
      const { paused, ...settings } = request.body;
      if (settings.timeZone !== undefined && !isTimeZone(settings.timeZone)) throw new AppError('VALIDATION_ERROR', `timeZone "${settings.timeZone}" is not an IANA time zone (UTC, Asia/Jakarta)`);
      if (Object.keys(settings).length) await saveSettings(sqlOf(request.em), device.id, settings);
      if (paused !== undefined) await setOwnerHold(request.em, device, paused, app.clock());
      return { success: true, data: await policyView(request.em, device.id, timeZone, app.clock()) } as const;
    },
  });

  app.post('/api/whatsapp/devices/:id/send-policy/resume', {
    config: { auth: 'any', scope: 'devices' },
    schema: { tags, summary: "Resume by hand: ends the owner's hold and any pause the policy put the number in", params: Params, response: { 200: ok(PolicyView), ...errors(401, 404, 429) } },
    handler: async (request) => {
      const device = await deviceOf(request, request.params.id);
      await setOwnerHold(request.em, device, false, app.clock());
      return { success: true, data: await policyView(request.em, device.id, timeZone, app.clock()) } as const;
    },
  });
};

export default sendPolicyRoutes;
