import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ContactSchema } from '../../db/entities/contact.ts';
import type { Device } from '../../db/entities/device.ts';
import { findDevice } from '../../devices/devices.ts';
import { AppError } from '../../domain/errors.ts';
import { normalizePhoneNumber } from '../../domain/phone-numbers.ts';
import { SessionQuestions } from '../../workers/sessions/session-requests.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams, Nullable, ok } from '../schemas.ts';
import contactRoutes from './contacts.ts';
import profileRoutes from './profiles.ts';

// What only the live session knows, asked of the worker holding it: whether numbers are on WhatsApp, the groups
// the account is in and their members (seed 004 shapes under /devices, seed 003's under /sessions).

interface GroupMetadata {
  id: string;
  subject: string;
  desc?: string;
  owner?: string;
  creation?: number;
  participants: { id: string; lid?: string; phoneNumber?: string; admin?: 'admin' | 'superadmin' | null }[];
}

// Our own role in a group: the participant that is this device's account, by number.
function roleIn(group: GroupMetadata, device: Device): 'admin' | 'superadmin' | null {
  const digits = device.phoneNumber?.replace(/^\+/, '');
  const me = group.participants.find((p) => [p.id, p.phoneNumber].some((jid) => jid?.split('@')[0] === digits));
  return me?.admin ?? null;
}

const groupView = (group: GroupMetadata, device: Device) => ({
  jid: group.id,
  name: group.subject,
  description: group.desc ?? '',
  owner: group.owner ?? null,
  participantCount: group.participants.length,
  isAdmin: roleIn(group, device) !== null,
  isSuperAdmin: roleIn(group, device) === 'superadmin',
});

const GroupView = Type.Object({
  jid: Type.String(),
  name: Type.String(),
  description: Type.String(),
  owner: Type.Union([Type.String(), Type.Null()]),
  participantCount: Type.Integer(),
  isAdmin: Type.Boolean(),
  isSuperAdmin: Type.Boolean(),
});
const NumberCheck = Type.Object({
  phoneNumber: Type.String(),
  onWhatsApp: Type.Boolean(),
  jid: Type.Union([Type.String(), Type.Null()]),
  lid: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
});
const live = errors(400, 401, 404, 409, 429, 503);

const numbersAndGroupsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const questions = new SessionQuestions(app.coordination);
  app.addHook('onClose', () => questions.close());
  // Contacts and profiles live beside numbers and groups, and share this process's one reply channel.
  await app.register(contactRoutes);
  await app.register(profileRoutes, { questions });

  // Checks numbers through the session; numbers that cannot be phone numbers are answered without asking.
  const check = async (device: Device, numbers: string[]) => {
    const parsed = numbers.map((phoneNumber) => ({ phoneNumber, digits: normalizePhoneNumber(phoneNumber) }));
    const jids = [...new Set(parsed.flatMap((p) => (p.digits ? [`${p.digits}@s.whatsapp.net`] : [])))];
    const answers = jids.length ? await questions.ask<{ jid: string; exists: boolean; lid?: string }[]>(device.id, { op: 'check-numbers', jids }) : [];
    const byJid = new Map(answers.map((a) => [a.jid, a]));
    return parsed.map(({ phoneNumber, digits }) => {
      if (!digits) return { phoneNumber, onWhatsApp: false, jid: null, error: 'INVALID_PHONE_NUMBER' };
      const answer = byJid.get(`${digits}@s.whatsapp.net`);
      return { phoneNumber, onWhatsApp: Boolean(answer?.exists), jid: `${digits}@s.whatsapp.net`, ...(answer?.lid ? { lid: answer.lid } : {}) };
    });
  };
  const groupsOf = (device: Device) => questions.ask<GroupMetadata[]>(device.id, { op: 'groups' });

  app.post('/api/whatsapp/devices/:id/check-numbers', {
    config: { auth: 'any', scope: 'read' },
    schema: {
      tags: ['contacts'],
      summary: 'Which of these numbers are on WhatsApp (up to 50 at once)',
      params: IdParams,
      body: Type.Object({ phoneNumbers: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 50 }) }),
      response: { 200: ok(Type.Array(NumberCheck)), ...live },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      return { success: true, data: await check(device, request.body.phoneNumbers) } as const;
    },
  });

  app.get('/api/whatsapp/devices/:id/groups', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags: ['groups'], summary: 'The groups the account is in', params: IdParams, response: { 200: ok(Type.Array(GroupView)), ...live } },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      return { success: true, data: (await groupsOf(device)).map((g) => groupView(g, device)) } as const;
    },
  });

  app.get('/api/whatsapp/devices/:id/groups/:groupJid/members', {
    config: { auth: 'any', scope: 'read' },
    schema: {
      tags: ['groups'],
      summary: "A group's members and their roles",
      params: Type.Object({ id: Type.Integer({ minimum: 1 }), groupJid: Type.String({ pattern: '^[0-9-]+@g\\.us$', maxLength: 64 }) }),
      response: {
        200: ok(Type.Array(Type.Object({ jid: Type.String(), lid: Type.Union([Type.String(), Type.Null()]), role: Type.String({ description: 'member, admin or superadmin' }) }))),
        ...live,
      },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const group = await questions.ask<GroupMetadata>(device.id, { op: 'group-metadata', jid: request.params.groupJid });
      return {
        success: true,
        data: group.participants.map((p) => ({
          jid: p.phoneNumber ?? p.id,
          lid: p.lid ?? (p.id.endsWith('@lid') ? p.id : null),
          role: p.admin ?? 'member',
        })),
      } as const;
    },
  });

  // Seed 003.
  const tags = ['sessions (seed 003)'];
  app.post('/api/sessions/:id/check-number', {
    config: { scope: 'read' },
    schema: {
      tags,
      summary: 'Is this number on WhatsApp?',
      params: IdParams,
      body: Type.Object({ number: Type.String({ minLength: 1, maxLength: 64 }) }),
      response: {
        200: Type.Object({
          success: Type.Literal(true),
          number: Type.String({ description: 'As asked' }),
          on_whatsapp: Type.Boolean(),
          verified: Type.Boolean({ description: 'A verified (green-tick) business account: the platform cannot tell, so always false' }),
          verified_name: Nullable(Type.String({ description: 'The business name the account registered, when the session has seen it' })),
        }),
        ...live,
      },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const [result] = await check(device, [request.body.number]);
      if (result!.error) throw new AppError('INVALID_PHONE_NUMBER', `"${request.body.number}" is not a phone number in international form`);
      const contact = result!.onWhatsApp ? await request.em.findOne(ContactSchema, { deviceId: device.id, jid: result!.jid! }, { fields: ['verifiedName'] }) : null;
      return { success: true, number: request.body.number, on_whatsapp: result!.onWhatsApp, verified: false, verified_name: contact?.verifiedName ?? null } as const;
    },
  });

  app.get('/api/sessions/:id/groups', {
    config: { scope: 'read' },
    schema: {
      tags,
      summary: 'The groups this session is in',
      params: IdParams,
      response: {
        200: Type.Object({
          success: Type.Literal(true),
          count: Type.Integer(),
          groups: Type.Array(
            Type.Object({
              jid: Type.String(),
              name: Type.String(),
              topic: Type.String(),
              description: Type.String(),
              owner: Type.Union([Type.String(), Type.Null()]),
              participant_count: Type.Integer(),
              is_admin: Type.Boolean(),
              is_super_admin: Type.Boolean(),
            }),
          ),
        }),
        ...live,
      },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const groups = (await groupsOf(device)).map((g) => groupView(g, device));
      return {
        success: true,
        count: groups.length,
        groups: groups.map((g) => ({
          jid: g.jid,
          name: g.name,
          topic: g.description,
          description: g.description,
          owner: g.owner,
          participant_count: g.participantCount,
          is_admin: g.isAdmin,
          is_super_admin: g.isSuperAdmin,
        })),
      } as const;
    },
  });
};

export default numbersAndGroupsRoutes;
