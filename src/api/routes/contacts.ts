import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EntityManager } from '@mikro-orm/postgresql';
import { baileysContactOf, listContacts, type ContactFilter } from '../../contacts/contact-views.ts';
import { findDevice, resolveUser } from '../../devices/devices.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams, IsoDate, Nullable, ok, UserParams } from '../schemas.ts';

// Seed 004's contacts, from the contacts read model: the people each session has heard of (senders and their push
// names, the phone's address book when WhatsApp sends it, lookups and group members that tie a LID to a number).

const ContactView = Type.Object({
  deviceId: Type.Integer(),
  jid: Type.String({ description: 'By phone number when known, else the LID' }),
  phoneNumber: Nullable(Type.String()),
  lid: Nullable(Type.String()),
  contactName: Nullable(Type.String({ description: "The name in the phone's address book" })),
  whatsappName: Nullable(Type.String({ description: 'The name the person set on WhatsApp (push name)' })),
  verifiedName: Nullable(Type.String()),
  source: Type.String({ description: '`contact` (address book), `message` (they wrote), `lookup` or `group`' }),
  presence: Nullable(Type.String({ description: 'Last reported presence, for people subscribed to' })),
  lastSeen: Nullable(IsoDate),
  updatedAt: IsoDate,
});
const ContactsQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  cursor: Type.Optional(Type.String({ maxLength: 500, description: 'The `nextCursor` of the previous page' })),
  search: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Part of a name, number or LID' })),
});
// Seed 004 reads the list as top-level `contacts`; `data` holds the same page with its cursor, as our other lists do.
const ContactsPage = Type.Object({
  ...ok(Type.Object({ items: Type.Array(ContactView), nextCursor: Nullable(Type.String()) })).properties,
  contacts: Type.Array(ContactView, { description: 'The same items as data.items (seed 004)' }),
});
const contactsPage = (page: Awaited<ReturnType<typeof listContacts>>) => ({ success: true, contacts: page.items, data: page }) as const;
// Baileys' `Contact`: absent fields are unknown (never null), as in Baileys' own store.
const BaileysContact = Type.Object(
  {
    id: Type.String({ description: 'The phone-number JID when known, else the LID' }),
    lid: Type.Optional(Type.String()),
    phoneNumber: Type.Optional(Type.String({ description: 'As a JID (`<digits>@s.whatsapp.net`)' })),
    name: Type.Optional(Type.String({ description: "The name in the phone's address book" })),
    notify: Type.Optional(Type.String({ description: 'The name the person set on WhatsApp (push name)' })),
    verifiedName: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
const BaileysContactsPage = ok(Type.Object({ contacts: Type.Array(BaileysContact), nextCursor: Nullable(Type.String()) }));

const contactRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['contacts'];
  const list = (em: EntityManager, filter: ContactFilter, query: { limit: number; cursor?: string; search?: string }) =>
    listContacts(em, { ...filter, ...(query.search ? { search: query.search } : {}) }, query.limit, query.cursor);

  app.get('/api/whatsapp/devices/:id/contacts', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: "A device's contacts", params: IdParams, querystring: ContactsQuery, response: { 200: ContactsPage, ...errors(400, 401, 404, 429) } },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      return contactsPage(await list(request.em, { tenantId: device.user.id, deviceId: device.id }, request.query));
    },
  });

  app.get('/api/whatsapp/devices/:id/contacts/baileys-store', {
    config: { auth: 'any', scope: 'read' },
    schema: {
      tags,
      summary: "A device's contacts in Baileys' `Contact` shape",
      description: 'The same people as the contacts list, for clients written against Baileys’ in-memory store.',
      params: IdParams,
      querystring: ContactsQuery,
      response: { 200: BaileysContactsPage, ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const { items, nextCursor } = await list(request.em, { tenantId: device.user.id, deviceId: device.id }, request.query);
      return { success: true, data: { contacts: items.map(baileysContactOf), nextCursor } } as const;
    },
  });

  app.get('/api/whatsapp/users/:userId/contacts', {
    config: { scope: 'read' },
    schema: {
      tags,
      summary: "A user's contacts across their devices",
      params: UserParams,
      querystring: ContactsQuery,
      response: { 200: ContactsPage, ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      const user = await resolveUser(request.em, principal, request.params.userId);
      const bound = principal.deviceIds === undefined ? {} : { deviceIds: principal.deviceIds };
      return contactsPage(await list(request.em, { tenantId: user.id, ...bound }, request.query));
    },
  });
};

export default contactRoutes;
