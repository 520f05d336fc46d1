import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { DeviceSchema } from './device.ts';
import { UserSchema } from './user.ts';
import type { Scope } from '../../domain/scopes.ts';

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
    // API tokens: the scopes granted (null: every scope the owner has) and the devices it is bound to (null: all
    // of the owner's). An empty binding stays empty when its devices go: a bound token never widens.
    scopes: p.array<Scope>().nullable(),
    deviceIds: p.array(Number, String).columnType('int[]').nullable(),
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
