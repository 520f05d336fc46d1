import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { DeviceSchema } from './device.ts';
import { UserSchema } from './user.ts';

// User API tokens (`X-API-Token`) and device API keys (`X-Device-API-Key`) share one table: both are
// `<prefix>_<publicId>_<secret>` strings of which only the secret's SHA-256 is stored.
export const ApiKeySchema = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: p.integer().primary().autoincrement(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
    kind: p.enum(['api-token', 'device'] as const),
    // Set for device keys: the only device such a key may act on.
    device: () => p.manyToOne(DeviceSchema).nullable().deleteRule('cascade').index(),
    publicId: p.string().length(32).unique(),
    secretHash: p.string().length(64),
    name: p.string().length(100),
    createdAt: p.datetime(),
    lastUsedAt: p.datetime().nullable(),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});

export type ApiKey = InferEntity<typeof ApiKeySchema>;
