import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.ts';

// A one-time login token (seed 002): exchanged once for a JWT, within a short lifetime. Only its hash is kept.
export const LoginTokenSchema = defineEntity({
  name: 'LoginToken',
  tableName: 'login_tokens',
  properties: {
    id: p.integer().primary().autoincrement(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
    tokenHash: p.string().length(64).unique(),
    createdAt: p.datetime(),
    expiresAt: p.datetime().index(),
    usedAt: p.datetime().nullable(),
  },
});

export type LoginToken = InferEntity<typeof LoginTokenSchema>;
