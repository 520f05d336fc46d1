import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.ts';

// One row per issued JWT (its `jti`): logout and refresh revoke the row, so a token dies server-side at once.
export const AuthSessionSchema = defineEntity({
  name: 'AuthSession',
  tableName: 'auth_sessions',
  properties: {
    id: p.uuid().primary(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
    method: p.enum(['password', 'login-token', 'refresh'] as const),
    createdAt: p.datetime(),
    expiresAt: p.datetime().index(),
    revokedAt: p.datetime().nullable(),
  },
});

export type AuthSession = InferEntity<typeof AuthSessionSchema>;
