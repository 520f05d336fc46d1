import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../domain/errors.ts';
import { streamOf, type EventPayloads } from '../domain/events.ts';
import { loginWait, type RecentAttempt } from '../domain/login-throttle.ts';
import { sqlOf, type Sql } from '../events/event-store.ts';
import { LoginTokenSchema } from '../db/entities/login-token.ts';
import { UserSchema, type User } from '../db/entities/user.ts';
import { recordAudit } from './audit.ts';
import type { AuthContext } from './context.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { randomSecret, sha256Hex } from './secrets.ts';
import { issueSession, type IssuedToken } from './sessions.ts';

export interface LoginResult extends IssuedToken {
  user: User;
}

type PasswordMethod = EventPayloads['auth.login-failed']['method'];

// Checked against when the username is unknown, so a login takes as long whether or not the user exists.
let decoyHash: Promise<string> | undefined;
const decoy = () => (decoyHash ??= hashPassword(randomSecret()));

// The account's attempts the slowdown may count, newest first: successes and real failures (a throttled try is
// recorded but not counted). Enough of them for the longest wait; older ones change nothing.
async function recentAttempts(run: Sql, stream: string, since: Date): Promise<RecentAttempt[]> {
  const rows = await run(
    `select type, data->>'at' as at from events
      where stream_id = ? and (type = 'auth.logged-in' or (type = 'auth.login-failed' and data->>'reason' <> 'throttled'))
        and (data->>'at')::timestamptz > ?
      order by stream_version desc limit 64`,
    [stream, since.toISOString()],
  );
  return rows.map((r) => ({ succeeded: r.type === 'auth.logged-in', at: new Date(r.at as string) }));
}

type Verdict<T> = { value: T } | { refusal: AppError };

// A password check with the per-account slowdown, for every way a password is presented (login, HTTP Basic).
// Attempts on one username — known or not, alike — take their turn under a transaction-scoped advisory lock, so
// parallel guesses cannot all slip under the limit; one arriving while another is checked is told to retry in
// a second rather than held (it keeps no connection waiting). The attempt's record and `onSuccess`'s writes (the
// session) commit together.
export async function attemptPasswordLogin<T>(
  ctx: AuthContext,
  username: string,
  password: string,
  method: PasswordMethod,
  onSuccess: (tx: AuthContext, user: User) => Promise<T>,
): Promise<T> {
  const stream = streamOf.account(username);
  const rule = ctx.config.loginFailureLimit;
  const verdict = await ctx.em.transactional(async (em): Promise<Verdict<T>> => {
    const tx: AuthContext = { ...ctx, em: em as EntityManager };
    const run = sqlOf(tx.em);
    const now = ctx.clock();
    const failed = (reason: EventPayloads['auth.login-failed']['reason'], user?: User) =>
      recordAudit(tx.em, stream, [{ type: 'auth.login-failed', data: { username, method, reason, at: now.toISOString(), ...(user ? { userId: user.id } : {}) } }], ctx.audit);

    const [lock] = await run('select pg_try_advisory_xact_lock(hashtextextended(?, 0)) as locked', [stream]);
    if (!lock?.locked) return { refusal: tooMany(1) };
    const waitMs = loginWait(await recentAttempts(run, stream, new Date(now.getTime() - rule.windowMs)), now, rule);
    if (waitMs > 0) {
      await failed('throttled');
      return { refusal: tooMany(Math.ceil(waitMs / 1000)) };
    }
    const user = await tx.em.findOne(UserSchema, { username });
    const valid = await verifyPassword(password, user?.passwordHash ?? (await decoy()));
    const reason = !user ? 'unknown-user' : !valid ? 'wrong-password' : user.disabledAt ? 'disabled' : undefined;
    if (reason) {
      await failed(reason, user ?? undefined);
      return { refusal: new AppError('INVALID_CREDENTIALS', 'Invalid username or password') };
    }
    const value = await onSuccess(tx, user!);
    await recordAudit(
      tx.em,
      stream,
      [{ type: 'auth.logged-in', data: { userId: user!.id, username, method, at: now.toISOString() } }],
      { ...ctx.audit, actor: { userId: user!.id, username, via: method } },
    );
    return { value };
  });
  if ('refusal' in verdict) throw verdict.refusal;
  return verdict.value;
}

// The same answer for every account, known or not: the wait says nothing of whether the user exists.
const tooMany = (retryAfter: number) =>
  new AppError('RATE_LIMIT_EXCEEDED', 'Too many failed logins for this account: wait before trying again', { retryAfter });

export function checkPassword(ctx: AuthContext, username: string, password: string, method: PasswordMethod = 'basic'): Promise<User> {
  return attemptPasswordLogin(ctx, username, password, method, async (_tx, user) => user);
}

export function loginWithPassword(ctx: AuthContext, username: string, password: string): Promise<LoginResult> {
  return attemptPasswordLogin(ctx, username, password, 'password', async (tx, user) => ({ ...(await issueSession(tx, user, 'password')), user }));
}

// Seed 002: a short-lived token (issued by an admin now, by a bot command later) is exchanged once for a JWT.
export async function issueLoginToken(ctx: AuthContext, user: User, ttlMs = ctx.config.loginTokenTtlMs): Promise<IssuedToken> {
  const token = `wlt_${randomSecret()}`;
  const now = ctx.clock();
  const expiresAt = new Date(now.getTime() + ttlMs);
  await ctx.em.transactional(async (em) => {
    em.create(LoginTokenSchema, { user, tokenHash: sha256Hex(token), createdAt: now, expiresAt });
    await em.flush();
    const data = { userId: user.id, username: user.username, expiresAt: expiresAt.toISOString() };
    await recordAudit(em as EntityManager, streamOf.account(user.username), [{ type: 'auth.login-token-issued', data }], ctx.audit);
  });
  return { token, expiresAt };
}

export async function loginWithOneTimeToken(ctx: AuthContext, token: string): Promise<LoginResult> {
  const now = ctx.clock();
  const result = await ctx.em.transactional(async (em) => {
    const tx: AuthContext = { ...ctx, em: em as EntityManager };
    // One conditional UPDATE marks the token used: of two concurrent exchanges only one gets a row back.
    const claimed = await tx.em.nativeUpdate(
      LoginTokenSchema,
      { tokenHash: sha256Hex(token), usedAt: null, expiresAt: { $gt: now } },
      { usedAt: now },
    );
    const row = claimed ? await tx.em.findOne(LoginTokenSchema, { tokenHash: sha256Hex(token) }, { populate: ['user'] }) : null;
    // Refused after the claim commits: a disabled user's token is spent all the same.
    if (!row || row.user.disabledAt) return undefined;
    const { user } = row;
    const issued = await issueSession(tx, user, 'login-token');
    await recordAudit(
      tx.em,
      streamOf.account(user.username),
      [{ type: 'auth.logged-in', data: { userId: user.id, username: user.username, method: 'login-token', at: now.toISOString() } }],
      { ...ctx.audit, actor: { userId: user.id, username: user.username, via: 'login-token' } },
    );
    return { ...issued, user };
  });
  if (!result) throw new AppError('INVALID_TOKEN', 'Login token is invalid, expired or already used');
  return result;
}
