import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

// Read model, written only by the lid-mappings projection: which phone number each LID (WhatsApp's privacy id
// for an account) belongs to, per user, learned from every event that names both.
export const LidMappingSchema = defineEntity({
  name: 'LidMapping',
  tableName: 'lid_mappings',
  indexes: [{ properties: ['tenantId', 'pn'] }],
  properties: {
    tenantId: p.integer().primary(),
    lid: p.string().length(128).primary(),
    pn: p.string().length(128),
    learnedAt: p.datetime(),
  },
});

export type LidMapping = InferEntity<typeof LidMappingSchema>;
