import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { AppError } from '../domain/errors.ts';
import { normalizePhoneNumber } from '../domain/phone-numbers.ts';
import { UserSchema, type User } from '../db/entities/user.ts';
import type { AuthContext, UserRole } from './context.ts';
import { hashPassword } from './passwords.ts';

// A user's own number as stored: `+digits`, or null to clear it.
function storedPhoneNumber(input: string | null): string | null {
  if (input === null) return null;
  const digits = normalizePhoneNumber(input);
  if (!digits) throw new AppError('INVALID_PHONE_NUMBER', `"${input}" is not a phone number (write it with its country code, such as +62 812 3456 7890)`);
  return `+${digits}`;
}

// Usernames and phone numbers are unique; the constraint that refused the write says which was taken.
async function flushUser(ctx: AuthContext, user: User): Promise<void> {
  try {
    await ctx.em.flush();
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) {
      if (err.message.includes('users_phone_number_unique')) {
        throw new AppError('PHONE_NUMBER_TAKEN', `Another user has the phone number ${user.phoneNumber} already`);
      }
      throw new AppError('USER_ALREADY_EXISTS', `A user named "${user.username}" already exists`);
    }
    throw err;
  }
}

export async function createUser(
  ctx: AuthContext,
  input: { username: string; password: string; role: UserRole; phoneNumber?: string },
): Promise<User> {
  const user = ctx.em.create(UserSchema, {
    username: input.username,
    passwordHash: await hashPassword(input.password),
    phoneNumber: input.phoneNumber === undefined ? null : storedPhoneNumber(input.phoneNumber),
    role: input.role,
    createdAt: ctx.clock(),
  });
  await flushUser(ctx, user);
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
  changes: { password?: string; role?: UserRole; disabled?: boolean; phoneNumber?: string | null },
): Promise<User> {
  const user = await findUser(ctx, id);
  const phoneNumber = changes.phoneNumber === undefined ? undefined : storedPhoneNumber(changes.phoneNumber);
  if (changes.password !== undefined) user.passwordHash = await hashPassword(changes.password);
  if (changes.role !== undefined) user.role = changes.role;
  if (changes.disabled !== undefined) user.disabledAt = changes.disabled ? (user.disabledAt ?? ctx.clock()) : null;
  if (phoneNumber !== undefined) user.phoneNumber = phoneNumber;
  await flushUser(ctx, user);
  return user;
}
