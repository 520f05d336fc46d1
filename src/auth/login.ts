import { AppError } from '../domain/errors.ts';
import { LoginTokenSchema } from '../db/entities/login-token.ts';
import { UserSchema, type User } from '../db/entities/user.ts';
import type { AuthContext } from './context.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { randomSecret, sha256Hex } from './secrets.ts';
import { issueSession, type IssuedToken } from './sessions.ts';

export interface LoginResult extends IssuedToken {
  user: User;
}

// Checked against when the username is unknown, so a login takes as long whether or not the user exists.
let decoyHash: Promise<string> | undefined;
const decoy = () => (decoyHash ??= hashPassword(randomSecret()));

export async function checkPassword(ctx: AuthContext, username: string, password: string): Promise<User> {
  const user = await ctx.em.findOne(UserSchema, { username });
  const valid = await verifyPassword(password, user?.passwordHash ?? (await decoy()));
  if (!user || !valid || user.disabledAt) throw new AppError('INVALID_CREDENTIALS', 'Invalid username or password');
  return user;
}

export async function loginWithPassword(ctx: AuthContext, username: string, password: string): Promise<LoginResult> {
  const user = await checkPassword(ctx, username, password);
  return { ...(await issueSession(ctx, user, 'password')), user };
}

// Seed 002: a short-lived token (issued by an admin now, by a bot command later) is exchanged once for a JWT.
export async function issueLoginToken(ctx: AuthContext, user: User, ttlMs = ctx.config.loginTokenTtlMs): Promise<IssuedToken> {
  const token = `wlt_${randomSecret()}`;
  const now = ctx.clock();
  const expiresAt = new Date(now.getTime() + ttlMs);
  ctx.em.create(LoginTokenSchema, { user, tokenHash: sha256Hex(token), createdAt: now, expiresAt });
  await ctx.em.flush();
  return { token, expiresAt };
}

export async function loginWithOneTimeToken(ctx: AuthContext, token: string): Promise<LoginResult> {
  const now = ctx.clock();
  // One conditional UPDATE marks the token used: of two concurrent exchanges only one gets a row back.
  const claimed = await ctx.em.nativeUpdate(
    LoginTokenSchema,
    { tokenHash: sha256Hex(token), usedAt: null, expiresAt: { $gt: now } },
    { usedAt: now },
  );
  const row = claimed ? await ctx.em.findOne(LoginTokenSchema, { tokenHash: sha256Hex(token) }, { populate: ['user'] }) : null;
  if (!row || row.user.disabledAt) throw new AppError('INVALID_TOKEN', 'Login token is invalid, expired or already used');
  return { ...(await issueSession(ctx, row.user, 'login-token')), user: row.user };
}
