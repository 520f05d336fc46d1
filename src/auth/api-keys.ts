import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../domain/errors.ts';
import { streamOf } from '../domain/events.ts';
import { recordAudit } from './audit.ts';
import { ApiKeySchema, type ApiKey } from '../db/entities/api-key.ts';
import type { User } from '../db/entities/user.ts';
import type { Scope } from '../domain/scopes.ts';
import type { AuthContext, Principal, UserRole } from './context.ts';
import { hashesEqual, randomSecret, sha256Hex } from './secrets.ts';
import { sqlOf } from '../events/event-store.ts';

// Keys read `wa_<publicId>_<secret>` (user API tokens) or `dev_<publicId>_<secret>` (device keys): the public
// id finds the row, the secret is compared by hash in constant time. The token set through API_TOKEN may look
// like anything and lives under the reserved public id below.
const PREFIX = { 'api-token': 'wa', device: 'dev' } as const;
export const BOOTSTRAP_PUBLIC_ID = 'env-api-token';

export interface CreatedKey {
  key: ApiKey;
  secret: string;
}

export async function createApiKey(
  ctx: AuthContext,
  user: User,
  options: { kind: ApiKey['kind']; name: string; deviceId?: number; expiresAt?: Date; scopes?: readonly Scope[]; deviceIds?: readonly number[] },
): Promise<CreatedKey> {
  const publicId = randomBytes(9).toString('base64url');
  const secretPart = randomSecret();
  // The key and its audit record commit together (inside the caller's transaction when there is one: a device's).
  const key = await ctx.em.transactional(async (em) => {
    const created = em.create(ApiKeySchema, {
      user,
      kind: options.kind,
      device: options.deviceId ?? null,
      scopes: options.scopes ? [...options.scopes] : null,
      deviceIds: options.deviceIds ? [...options.deviceIds] : null,
      publicId,
      secretHash: sha256Hex(secretPart),
      name: options.name,
      createdAt: ctx.clock(),
      expiresAt: options.expiresAt ?? null,
    });
    await em.flush();
    const userId = user.id;
    await recordAudit(
      em as EntityManager,
      streamOf.account(user.username),
      [
        options.kind === 'device'
          ? { type: 'auth.device-key-created', data: { userId, keyId: created.id, deviceId: options.deviceId! } }
          : { type: 'auth.api-token-created', data: { userId, keyId: created.id, name: options.name, ...(options.expiresAt ? { expiresAt: options.expiresAt.toISOString() } : {}) } },
      ],
      ctx.audit,
    );
    return created;
  });
  return { key, secret: `${PREFIX[options.kind]}_${publicId}_${secretPart}` };
}

// The public id and secret of a key-shaped string; undefined for anything else.
export function parseKey(presented: string): { publicId: string; secret: string } | undefined {
  const match = /^(?:wa|dev)_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/.exec(presented);
  return match ? { publicId: match[1]!, secret: match[2]! } : undefined;
}

// Timestamps arrive as text: MikroORM's driver leaves date parsing to the ORM layer.
interface KeyRow {
  id: number;
  kind: ApiKey['kind'];
  secret_hash: string;
  device_id: number | null;
  scopes: Scope[] | null;
  device_ids: number[] | null;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  user_id: number;
  username: string;
  role: UserRole;
  disabled_at: string | null;
}

const time = (text: string | null) => (text === null ? undefined : new Date(text).getTime());

// Runs on every request that presents a key: one indexed join in plain SQL (the ORM's query building and
// hydration cost several times the query itself here; see bench/http.bench.ts).
const KEY_QUERY = `select k.id, k.kind, k.secret_hash, k.device_id, k.scopes, k.device_ids, k.expires_at, k.revoked_at, k.last_used_at,
  u.id as user_id, u.username, u.role, u.disabled_at
  from api_keys k join users u on u.id = k.user_id where k.public_id = ?`;

// The key stored under `publicId` whose secret is `secret`, of whichever kind it is; undefined when there is no
// such row. A row whose secret, expiry, revocation or user refuses it is an error.
export async function authenticateApiKey(ctx: AuthContext, publicId: string, secret: string): Promise<Principal | undefined> {
  const [key] = (await sqlOf(ctx.em)(KEY_QUERY, [publicId])) as unknown as KeyRow[];
  if (key === undefined) return undefined;
  const now = ctx.clock();
  const valid =
    hashesEqual(sha256Hex(secret), key.secret_hash) &&
    !key.revoked_at &&
    !(key.expires_at && time(key.expires_at)! <= now.getTime()) &&
    !key.disabled_at;
  if (!valid) {
    throw key.kind === 'device'
      ? new AppError('INVALID_TOKEN', 'Device API key is invalid')
      : new AppError('INVALID_API_TOKEN', 'API token is invalid');
  }
  // Last use is informational: at most one write a minute per key keeps the hot path read-only.
  if (now.getTime() - (time(key.last_used_at) ?? 0) > 60_000) {
    await ctx.em.nativeUpdate(ApiKeySchema, { id: key.id }, { lastUsedAt: now });
  }
  return {
    userId: key.user_id,
    username: key.username,
    role: key.role,
    via: key.kind === 'device' ? 'device-key' : 'api-token',
    credentialId: key.id,
    ...(key.device_id === null ? {} : { deviceId: key.device_id, deviceIds: [key.device_id] }),
    ...(key.scopes === null ? {} : { scopes: key.scopes }),
    ...(key.device_ids === null ? {} : { deviceIds: key.device_ids }),
    ...(key.expires_at ? { expiresAt: new Date(key.expires_at) } : {}),
  };
}

export function listApiKeys(ctx: AuthContext, userId: number): Promise<ApiKey[]> {
  return ctx.em.find(ApiKeySchema, { user: userId, kind: 'api-token', revokedAt: null }, { orderBy: { id: 'asc' } });
}

// Another user's key is answered as missing, never as forbidden.
export async function revokeApiKey(ctx: AuthContext, principal: Pick<Principal, 'userId' | 'username'>, keyId: number): Promise<void> {
  const { userId, username } = principal;
  await ctx.em.transactional(async (em) => {
    const changed = await em.nativeUpdate(ApiKeySchema, { id: keyId, user: userId, kind: 'api-token', revokedAt: null }, { revokedAt: ctx.clock() });
    if (!changed) throw new AppError('API_TOKEN_NOT_FOUND', `API token ${keyId} not found`);
    await recordAudit(em as EntityManager, streamOf.account(username), [{ type: 'auth.api-token-revoked', data: { userId, keyId } }], ctx.audit);
  });
  await ctx.credentials?.announce();
}
