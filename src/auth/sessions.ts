import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../domain/errors.ts';
import { AuthSessionSchema, type AuthSession } from '../db/entities/auth-session.ts';
import type { User } from '../db/entities/user.ts';
import type { AuthContext, Principal } from './context.ts';

// JWTs name a server-side session row (`jti`): the signature and expiry are checked without I/O, the row
// makes logout and refresh take effect at once in every process.

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

function key(ctx: AuthContext): Uint8Array {
  return new TextEncoder().encode(ctx.config.jwtSecret);
}

export async function issueSession(ctx: AuthContext, user: User, method: AuthSession['method']): Promise<IssuedToken> {
  const now = ctx.clock();
  const expiresAt = new Date(now.getTime() + ctx.config.jwtTtlMs);
  const session = ctx.em.create(AuthSessionSchema, { id: randomUUID(), user, method, createdAt: now, expiresAt });
  await ctx.em.persist(session).flush();
  const token = await new SignJWT({ role: user.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(user.id))
    .setJti(session.id)
    .setIssuedAt(Math.floor(now.getTime() / 1000))
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(key(ctx));
  return { token, expiresAt };
}

export async function authenticateJwt(ctx: AuthContext, token: string): Promise<Principal> {
  let jti: string | undefined;
  try {
    const { payload } = await jwtVerify(token, key(ctx), { algorithms: ['HS256'], currentDate: ctx.clock() });
    jti = payload.jti;
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new AppError('TOKEN_EXPIRED', 'Token has expired');
    throw new AppError('INVALID_TOKEN', 'Token is invalid');
  }
  const session = jti ? await ctx.em.findOne(AuthSessionSchema, { id: jti }, { populate: ['user'] }) : null;
  if (!session || session.revokedAt || session.user.disabledAt) throw new AppError('INVALID_TOKEN', 'Token is invalid');
  if (session.expiresAt <= ctx.clock()) throw new AppError('TOKEN_EXPIRED', 'Token has expired');
  return {
    userId: session.user.id,
    username: session.user.username,
    role: session.user.role,
    via: 'jwt',
    sessionId: session.id,
    expiresAt: session.expiresAt,
  };
}

export async function revokeSession(ctx: AuthContext, sessionId: string): Promise<boolean> {
  const changed = await ctx.em.nativeUpdate(AuthSessionSchema, { id: sessionId, revokedAt: null }, { revokedAt: ctx.clock() });
  return changed > 0;
}

// A refresh rotates: the new token is issued and the presented one stops working.
export async function refreshSession(ctx: AuthContext, principal: Principal): Promise<IssuedToken> {
  if (!principal.sessionId) throw new AppError('INVALID_TOKEN', 'Only a login token (JWT) can be refreshed');
  const session = await ctx.em.findOneOrFail(AuthSessionSchema, { id: principal.sessionId }, { populate: ['user'] });
  // Two refreshes racing on one token: only the one that revokes it gets a new token.
  if (!(await revokeSession(ctx, session.id))) throw new AppError('INVALID_TOKEN', 'Token is invalid');
  return issueSession(ctx, session.user, 'refresh');
}
