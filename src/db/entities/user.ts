import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.integer().primary().autoincrement(),
    // Seed 004's `userId`: the integrator's own identifier for the user, used verbatim in session ids.
    username: p.string().length(64).unique(),
    // None for a user provisioned by an administrator's first device for it, until a password is set.
    passwordHash: p.string().length(255).nullable(),
    // The user's own WhatsApp number (digits with +): seed 002's bot answers `/login` from it with a login token.
    phoneNumber: p.string().length(32).nullable().unique(),
    role: p.enum(['admin', 'user'] as const).default('user'),
    createdAt: p.datetime(),
    disabledAt: p.datetime().nullable(),
  },
});

export type User = InferEntity<typeof UserSchema>;
