import { UserSchema } from '../db/entities/user.ts';
import { AppError } from '../domain/errors.ts';
import { streamOf } from '../domain/events.ts';
import { recordAudit } from './audit.ts';
import { authenticateApiKey, BOOTSTRAP_PUBLIC_ID, parseKey } from './api-keys.ts';
import type { AuthContext, Principal } from './context.ts';
import { secretsEqual, sha256Hex } from './secrets.ts';
import { authenticateJwt } from './sessions.ts';

// A credential is told apart by lookup, never by how it looks, because the environment's tokens may look like
// anything (a JWT, a key, `test123`). Bearer and `?token=` take every kind; a named header takes its own kind
// (X-API-Token: API tokens and API_TOKEN; X-Device-API-Key: device keys), and names the refusal.
export type CredentialSource = 'x-api-token' | 'x-device-api-key' | 'bearer' | 'query';

const refusal = (source: CredentialSource) =>
  source === 'x-api-token'
    ? new AppError('INVALID_API_TOKEN', 'API token is invalid')
    : new AppError('INVALID_TOKEN', source === 'x-device-api-key' ? 'Device API key is invalid' : 'Token is invalid');

// A credential accepted before, while nothing was announced since and it has not expired; else `check`'s answer.
// Refusals are not kept: a guessed credential costs its lookup every time.
function recall(ctx: AuthContext, presented: string, check: () => Promise<Principal>): Promise<Principal> {
  if (!ctx.credentials) return check();
  return ctx.credentials.remember(sha256Hex(presented), check, (principal) => !principal.expiresAt || principal.expiresAt > ctx.clock());
}

// ADMIN_TOKEN acts as the ADMIN_USERNAME user.
export async function authenticateAdminToken(ctx: AuthContext, presented: string): Promise<Principal> {
  const expected = ctx.config.adminToken;
  if (!expected || !secretsEqual(presented, expected)) throw new AppError('INVALID_ADMIN_TOKEN', 'Admin token is invalid');
  const principal = await recall(ctx, `admin-token ${presented}`, async () => {
    const admin = await ctx.em.findOne(UserSchema, { username: ctx.config.adminUsername, role: 'admin', disabledAt: null });
    if (!admin) throw new AppError('INVALID_ADMIN_TOKEN', 'Admin token is invalid: the admin user is missing or disabled');
    return { userId: admin.id, username: admin.username, role: admin.role, via: 'admin-token' };
  });
  await noteAdminTokenUse(ctx, principal);
  return principal;
}

// ADMIN_TOKEN is one shared secret with every power: its use is recorded, at most once a minute per process (a
// script may call thousands of times a minute). Every audited change made with it names `via: admin-token`.
const ADMIN_TOKEN_RECORD_MS = 60_000;
let adminTokenRecordedAt = -Infinity;

async function noteAdminTokenUse(ctx: AuthContext, admin: Principal): Promise<void> {
  const now = ctx.clock().getTime();
  if (now - adminTokenRecordedAt < ADMIN_TOKEN_RECORD_MS) return;
  adminTokenRecordedAt = now;
  const [method = '', route = ''] = ctx.audit?.route?.split(' ') ?? [];
  await recordAudit(
    ctx.em,
    streamOf.account(admin.username),
    [{ type: 'auth.admin-token-used', data: { method, route } }],
    { ...ctx.audit, actor: { userId: admin.userId, username: admin.username, via: 'admin-token' } },
  );
}

// In order: the environment's ADMIN_TOKEN and API_TOKEN (compared in constant time, no I/O), a key by its public
// id, a JWT by its signature. The API_TOKEN row is still read, so a token unset at the last start is refused. A
// named header skips the kinds it cannot take before any lookup (so an admin token in X-API-Token is not used).
export async function authenticateCredential(ctx: AuthContext, presented: string, source: CredentialSource): Promise<Principal> {
  const anyKind = source === 'bearer' || source === 'query';
  if (anyKind && ctx.config.adminToken && secretsEqual(presented, ctx.config.adminToken)) return authenticateAdminToken(ctx, presented);
  // Where a credential came in decides what it may be, so it is part of what is remembered.
  return recall(ctx, `${source} ${presented}`, () => lookUpCredential(ctx, presented, source, anyKind));
}

async function lookUpCredential(ctx: AuthContext, presented: string, source: CredentialSource, anyKind: boolean): Promise<Principal> {
  if (source !== 'x-device-api-key' && ctx.config.apiToken && secretsEqual(presented, ctx.config.apiToken)) {
    return (await authenticateApiKey(ctx, BOOTSTRAP_PUBLIC_ID, presented)) ?? refuse(source);
  }
  const key = parseKey(presented);
  if (key) {
    const principal = await authenticateApiKey(ctx, key.publicId, key.secret);
    const wanted = ({ 'x-api-token': 'api-token', 'x-device-api-key': 'device-key' } as const)[source as 'x-api-token'];
    return principal && (wanted === undefined || principal.via === wanted) ? principal : refuse(source);
  }
  if (!anyKind) return refuse(source);
  try {
    return await authenticateJwt(ctx, presented);
  } catch (err) {
    // An expired login token says so wherever it was sent; anything else that is no JWT is refused as the
    // place it came in names it.
    if (err instanceof AppError && err.code === 'TOKEN_EXPIRED') throw err;
    return refuse(source);
  }
}

function refuse(source: CredentialSource): never {
  throw refusal(source);
}
