import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../domain/errors.ts';
import { AuthSessionSchema, type AuthSession } from '../db/entities/auth-session.ts';
import type { User } from '../db/entities/user.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { streamOf } from '../domain/events.ts';
import { recordAudit } from './audit.ts';
import type { AuthContext, Principal, UserRole } from './context.ts';
import { sqlOf } from '../events/event-store.ts';

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

// Checked on every request with a JWT: one indexed join in plain SQL, as for API keys (see api-keys.ts).
// Timestamps arrive as text.
const SESSION_QUERY = `select s.expires_at, s.revoked_at, u.id as user_id, u.username, u.role, u.disabled_at
  from auth_sessions s join users u on u.id = s.user_id where s.id = ?`;

interface SessionRow {
  expires_at: string;
  revoked_at: string | null;
  user_id: number;
  username: string;
  role: UserRole;
  disabled_at: string | null;
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
  const [session] = jti ? ((await sqlOf(ctx.em)(SESSION_QUERY, [jti])) as unknown as SessionRow[]) : [];
  if (!session || session.revoked_at || session.disabled_at) throw new AppError('INVALID_TOKEN', 'Token is invalid');
  const expiresAt = new Date(session.expires_at);
  if (expiresAt <= ctx.clock()) throw new AppError('TOKEN_EXPIRED', 'Token has expired');
  return { userId: session.user_id, username: session.username, role: session.role, via: 'jwt', sessionId: jti!, expiresAt };
}

export async function revokeSession(ctx: AuthContext, sessionId: string): Promise<boolean> {
  const changed = await ctx.em.nativeUpdate(AuthSessionSchema, { id: sessionId, revokedAt: null }, { revokedAt: ctx.clock() });
  return changed > 0;
}

// A refresh rotates: the new token is issued and the presented one stops working.
export async function refreshSession(ctx: AuthContext, principal: Principal): Promise<IssuedToken> {
  if (!principal.sessionId) throw new AppError('INVALID_TOKEN', 'Only a login token (JWT) can be refreshed');
  const issued = await ctx.em.transactional(async (em) => {
    const tx: AuthContext = { ...ctx, em: em as EntityManager };
    const session = await tx.em.findOneOrFail(AuthSessionSchema, { id: principal.sessionId }, { populate: ['user'] });
    // Two refreshes racing on one token: only the one that revokes it gets a new token.
    if (!(await revokeSession(tx, session.id))) return undefined;
    const { userId, username } = principal;
    await recordAudit(tx.em, streamOf.account(username), [{ type: 'auth.session-refreshed', data: { userId, username } }], ctx.audit);
    return issueSession(tx, session.user, 'refresh');
  });
  if (!issued) throw new AppError('INVALID_TOKEN', 'Token is invalid');
  await ctx.credentials?.announce();
  return issued;
}

export async function logout(ctx: AuthContext, principal: Principal): Promise<void> {
  if (!principal.sessionId) {
    throw new AppError('INVALID_TOKEN', 'Only a login token (JWT) can be logged out; revoke API tokens with DELETE /api/auth/api-tokens/{id}');
  }
  const { sessionId, userId, username } = principal;
  await ctx.em.transactional(async (em) => {
    if (await revokeSession({ ...ctx, em: em as EntityManager }, sessionId)) {
      await recordAudit(em as EntityManager, streamOf.account(username), [{ type: 'auth.logged-out', data: { userId, username } }], ctx.audit);
    }
  });
  await ctx.credentials?.announce();
}
