import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { findDevice } from '../../devices/devices.ts';
import { AppError } from '../../domain/errors.ts';
import { parseRecipient, type Recipient } from '../../domain/recipients.ts';
import type { SessionQuestions } from '../../workers/sessions/session-requests.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams, Nullable, ok } from '../schemas.ts';

// Seed 004's profile reads and presence, asked of the session (the worker holding it): a person's profile
// picture and business profile, their presence (subscribing to it: later changes arrive as
// `contact.presence-updated` events), our own presence, and a sync that looks the device's people up again.

const JidParams = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  jid: Type.String({ minLength: 1, maxLength: 128, description: 'A phone number, a JID or a LID' }),
});
const live = errors(400, 401, 404, 409, 429, 503);

function personOf(input: string, groupsToo = false): Recipient {
  const recipient = parseRecipient(input);
  if (!recipient || (recipient.kind === 'group' && !groupsToo)) {
    throw new AppError('INVALID_PHONE_NUMBER', `"${input}" is not a phone number, a JID or a LID${groupsToo ? ' or a group' : ''}`);
  }
  return recipient;
}

const PRESENCES = ['available', 'unavailable', 'composing', 'recording', 'paused'] as const;

interface BusinessProfile {
  wid?: string;
  description?: string;
  category?: string;
  email?: string;
  website?: string[];
  address?: string;
}

const profileRoutes: FastifyPluginAsyncTypebox<{ questions: SessionQuestions }> = async (app, { questions }) => {
  const tags = ['contacts'];

  app.get('/api/whatsapp/devices/:id/profile/:jid', {
    config: { auth: 'any', scope: 'read' },
    schema: {
      tags,
      summary: "A person's (or a group's) profile picture",
      params: JidParams,
      querystring: Type.Object({ type: Type.Union([Type.Literal('image'), Type.Literal('preview')], { default: 'image', description: 'Full size or thumbnail' }) }),
      response: { 200: ok(Type.Object({ jid: Type.String(), profilePictureUrl: Nullable(Type.String({ description: 'null: none, or not shown to us' })) })), ...live },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const { jid } = personOf(request.params.jid, true);
      const answer = await questions.ask<{ url: string | null }>(device.id, { op: 'profile-picture', jid, type: request.query.type });
      return { success: true, data: { jid, profilePictureUrl: answer.url } } as const;
    },
  });

  app.get('/api/whatsapp/devices/:id/business/:jid', {
    config: { auth: 'any', scope: 'read' },
    schema: {
      tags,
      summary: "A person's business profile (`isBusiness: false` for an ordinary account)",
      params: JidParams,
      response: {
        200: ok(
          Type.Object({
            jid: Type.String(),
            isBusiness: Type.Boolean(),
            description: Nullable(Type.String()),
            category: Nullable(Type.String()),
            email: Nullable(Type.String()),
            website: Type.Array(Type.String()),
            address: Nullable(Type.String()),
          }),
        ),
        ...live,
      },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const { jid } = personOf(request.params.jid);
      const profile = await questions.ask<BusinessProfile | null>(device.id, { op: 'business-profile', jid });
      return {
        success: true,
        data: {
          jid,
          isBusiness: profile !== null,
          description: profile?.description || null,
          category: profile?.category ?? null,
          email: profile?.email ?? null,
          website: profile?.website ?? [],
          address: profile?.address ?? null,
        },
      } as const;
    },
  });

  app.get('/api/whatsapp/devices/:id/presence/:jid', {
    config: { auth: 'any', scope: 'read' },
    schema: {
      tags,
      summary: "A person's presence; subscribes to it, so later changes arrive as `contact.presence-updated` events",
      params: JidParams,
      response: {
        200: ok(
          Type.Object({
            jid: Type.String(),
            presence: Type.String({ description: 'available, unavailable, composing, recording, or unknown when WhatsApp did not say in time' }),
            lastSeen: Nullable(Type.String({ format: 'date-time' })),
          }),
        ),
        ...live,
      },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const { jid } = personOf(request.params.jid);
      const answer = await questions.ask<{ presence: string; lastSeen?: number }>(device.id, { op: 'presence', jid });
      return { success: true, data: { jid, presence: answer.presence, lastSeen: answer.lastSeen ? new Date(answer.lastSeen * 1000).toISOString() : null } } as const;
    },
  });

  app.post('/api/whatsapp/devices/:id/presence', {
    config: { auth: 'any', scope: 'send' },
    schema: {
      tags,
      summary: 'Our own presence: online/offline for the account, or typing, recording, paused in one chat',
      params: IdParams,
      body: Type.Object(
        {
          presence: Type.Union(PRESENCES.map((p) => Type.Literal(p))),
          jid: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'The chat, for composing, recording and paused' })),
        },
        { additionalProperties: false },
      ),
      response: { 200: ok(Type.Object({ presence: Type.String(), jid: Type.Optional(Type.String()) })), ...live },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const { presence } = request.body;
      const inChat = presence !== 'available' && presence !== 'unavailable';
      if (inChat && !request.body.jid) throw new AppError('VALIDATION_ERROR', `${presence} is shown in one chat: jid is required`, [{ field: 'jid', message: 'required' }]);
      const jid = inChat ? personOf(request.body.jid!, true).jid : undefined;
      await questions.ask(device.id, { op: 'send-presence', presence, ...(jid ? { jid } : {}) });
      return { success: true, data: { presence, ...(jid ? { jid } : {}) } } as const;
    },
  });

  app.post('/api/whatsapp/devices/:id/sync', {
    config: { auth: 'any', scope: 'devices' },
    schema: {
      tags,
      summary: "Look the device's contacts and groups up again through the session",
      description:
        'Contacts known by number are looked up (their LIDs), contacts known by LID alone are matched with the session’s own map, and group members are read; what ties a LID to a number is recorded. Chats come from message history, so `includeChats` has nothing to fetch.',
      params: IdParams,
      body: Type.Object(
        {
          includeContacts: Type.Boolean({ default: true }),
          includeChats: Type.Boolean({ default: true }),
          includeGroups: Type.Boolean({ default: true }),
        },
        { additionalProperties: false },
      ),
      response: {
        200: ok(
          Type.Object({
            contacts: Nullable(Type.Integer({ description: 'Contacts looked up (null: not asked)' })),
            groups: Nullable(Type.Integer({ description: 'Groups read (null: not asked)' })),
            identified: Type.Integer({ description: 'People whose number and LID were learned together' }),
          }),
        ),
        ...live,
      },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const { includeContacts, includeGroups } = request.body;
      const data = await questions.ask<{ contacts: number | null; groups: number | null; identified: number }>(device.id, {
        op: 'sync',
        contacts: includeContacts,
        groups: includeGroups,
      });
      return { success: true, data } as const;
    },
  });
};

export default profileRoutes;
