import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { streamOf, type DomainEvent } from '../domain/events.ts';
import { recordAudit } from './audit.ts';
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
  const passwordHash = await hashPassword(input.password);
  const phoneNumber = input.phoneNumber === undefined ? null : storedPhoneNumber(input.phoneNumber);
  return ctx.em.transactional(async (em) => {
    const tx: AuthContext = { ...ctx, em: em as EntityManager };
    const user = tx.em.create(UserSchema, { username: input.username, passwordHash, phoneNumber, role: input.role, createdAt: ctx.clock() });
    await flushUser(tx, user);
    const data = { userId: user.id, username: user.username };
    await recordAudit(tx.em, streamOf.account(user.username), [{ type: 'user.created', data: { ...data, role: user.role } }], ctx.audit);
    return user;
  });
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

// Each kind of change is its own audit event (a role change, a password set, a disable), recorded only when
// something changed, in the transaction that changes it.
export async function updateUser(
  ctx: AuthContext,
  id: number,
  changes: { password?: string; role?: UserRole; disabled?: boolean; phoneNumber?: string | null },
): Promise<User> {
  const phoneNumber = changes.phoneNumber === undefined ? undefined : storedPhoneNumber(changes.phoneNumber);
  const passwordHash = changes.password === undefined ? undefined : await hashPassword(changes.password);
  const updated = await ctx.em.transactional(async (em) => {
    const tx: AuthContext = { ...ctx, em: em as EntityManager };
    const user = await findUser(tx, id);
    const data = { userId: user.id, username: user.username };
    const events: DomainEvent[] = [];
    if (passwordHash !== undefined) {
      user.passwordHash = passwordHash;
      events.push({ type: 'user.password-set', data });
    }
    if (changes.role !== undefined && changes.role !== user.role) {
      events.push({ type: 'user.role-changed', data: { ...data, from: user.role, to: changes.role } });
      user.role = changes.role;
    }
    if (changes.disabled !== undefined && changes.disabled !== Boolean(user.disabledAt)) {
      user.disabledAt = changes.disabled ? ctx.clock() : null;
      events.push({ type: changes.disabled ? 'user.disabled' : 'user.enabled', data });
    }
    if (phoneNumber !== undefined && phoneNumber !== user.phoneNumber) {
      user.phoneNumber = phoneNumber;
      events.push({ type: 'user.phone-number-changed', data: { ...data, phoneNumber } });
    }
    await flushUser(tx, user);
    await recordAudit(tx.em, streamOf.account(user.username), events, ctx.audit);
    return user;
  });
  // A role or a disable changes what the user's credentials may do, at once.
  if (changes.role !== undefined || changes.disabled !== undefined) await ctx.credentials?.announce();
  return updated;
}
