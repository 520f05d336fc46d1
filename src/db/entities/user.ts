import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.integer().primary().autoincrement(),
    username: p.string().length(64).unique(),
    passwordHash: p.string().length(255),
    role: p.enum(['admin', 'user'] as const).default('user'),
    createdAt: p.datetime(),
    disabledAt: p.datetime().nullable(),
  },
});

export type User = InferEntity<typeof UserSchema>;
