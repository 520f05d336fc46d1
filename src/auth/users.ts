import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { AppError } from '../domain/errors.ts';
import { UserSchema, type User } from '../db/entities/user.ts';
import type { AuthContext, UserRole } from './context.ts';
import { hashPassword } from './passwords.ts';

export async function createUser(ctx: AuthContext, input: { username: string; password: string; role: UserRole }): Promise<User> {
  const user = ctx.em.create(UserSchema, {
    username: input.username,
    passwordHash: await hashPassword(input.password),
    role: input.role,
    createdAt: ctx.clock(),
  });
  try {
    await ctx.em.flush();
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) {
      throw new AppError('USER_ALREADY_EXISTS', `A user named "${input.username}" already exists`);
    }
    throw err;
  }
  return user;
}

export async function findUser(ctx: AuthContext, id: number): Promise<User> {
  const user = await ctx.em.findOne(UserSchema, { id });
  if (!user) throw new AppError('USER_NOT_FOUND', `User ${id} not found`);
  return user;
}

// Keyset pagination by id: stable under concurrent inserts, cheap at any depth.
export async function listUsers(ctx: AuthContext, limit: number, cursor = 0): Promise<{ items: User[]; nextCursor: number | null }> {
  const rows = await ctx.em.find(UserSchema, { id: { $gt: cursor } }, { orderBy: { id: 'asc' }, limit: limit + 1 });
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
}

export async function updateUser(
  ctx: AuthContext,
  id: number,
  changes: { password?: string; role?: UserRole; disabled?: boolean },
): Promise<User> {
  const user = await findUser(ctx, id);
  if (changes.password !== undefined) user.passwordHash = await hashPassword(changes.password);
  if (changes.role !== undefined) user.role = changes.role;
  if (changes.disabled !== undefined) user.disabledAt = changes.disabled ? (user.disabledAt ?? ctx.clock()) : null;
  await ctx.em.flush();
  return user;
}
