import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

// Read model, written only by the contacts projection (src/events/projections/contacts.ts): the people a device's
// session has heard of, keyed by phone-number JID when known, else by LID.
export const ContactSchema = defineEntity({
  name: 'ContactView',
  tableName: 'contacts',
  indexes: [{ properties: ['deviceId', 'lid'] }, { properties: ['tenantId', 'jid'] }],
  properties: {
    deviceId: p.integer().primary(),
    jid: p.string().length(128).primary(),
    tenantId: p.integer(),
    lid: p.string().length(128).nullable(),
    // From the phone's address book.
    contactName: p.string().length(256).nullable(),
    // The name the person gave themselves on WhatsApp (push name).
    whatsappName: p.string().length(256).nullable(),
    verifiedName: p.string().length(256).nullable(),
    source: p.string().length(16),
    presence: p.string().length(16).nullable(),
    lastSeen: p.datetime().nullable(),
    presenceAt: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

export type ContactView = InferEntity<typeof ContactSchema>;
