import { randomBytes } from 'node:crypto';
import { AppError } from '../domain/errors.ts';
import { ApiKeySchema, type ApiKey } from '../db/entities/api-key.ts';
import type { User } from '../db/entities/user.ts';
import type { AuthContext, Principal } from './context.ts';
import { hashesEqual, randomSecret, sha256Hex } from './secrets.ts';

// Keys read `wa_<publicId>_<secret>` (user API tokens) or `dev_<publicId>_<secret>` (device keys): the public
// id finds the row, the secret is compared by hash in constant time. The token set through API_TOKEN has
// no such shape and lives under the reserved public id below.
const PREFIX = { 'api-token': 'wa', device: 'dev' } as const;
export const BOOTSTRAP_PUBLIC_ID = 'env-api-token';

export interface CreatedKey {
  key: ApiKey;
  secret: string;
}

export async function createApiKey(
  ctx: AuthContext,
  user: User,
  options: { kind: ApiKey['kind']; name: string; deviceId?: number; expiresAt?: Date },
): Promise<CreatedKey> {
  const publicId = randomBytes(9).toString('base64url');
  const secretPart = randomSecret();
  const key = ctx.em.create(ApiKeySchema, {
    user,
    kind: options.kind,
    deviceId: options.deviceId ?? null,
    publicId,
    secretHash: sha256Hex(secretPart),
    name: options.name,
    createdAt: ctx.clock(),
    expiresAt: options.expiresAt ?? null,
  });
  await ctx.em.flush();
  return { key, secret: `${PREFIX[options.kind]}_${publicId}_${secretPart}` };
}

function parse(presented: string): { publicId: string; secret: string } {
  const match = /^(?:wa|dev)_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/.exec(presented);
  return match ? { publicId: match[1]!, secret: match[2]! } : { publicId: BOOTSTRAP_PUBLIC_ID, secret: presented };
}

export async function authenticateApiKey(ctx: AuthContext, presented: string, kind: ApiKey['kind']): Promise<Principal> {
  const { publicId, secret } = parse(presented);
  const key = await ctx.em.findOne(ApiKeySchema, { publicId, kind }, { populate: ['user'] });
  const now = ctx.clock();
  const valid =
    key !== null &&
    hashesEqual(sha256Hex(secret), key.secretHash) &&
    !key.revokedAt &&
    !(key.expiresAt && key.expiresAt <= now) &&
    !key.user.disabledAt;
  if (!valid) {
    throw kind === 'device'
      ? new AppError('INVALID_TOKEN', 'Device API key is invalid')
      : new AppError('INVALID_API_TOKEN', 'API token is invalid');
  }
  // Last use is informational: at most one write a minute per key keeps the hot path read-only.
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > 60_000) {
    await ctx.em.nativeUpdate(ApiKeySchema, { id: key.id }, { lastUsedAt: now });
  }
  return {
    userId: key.user.id,
    username: key.user.username,
    role: key.user.role,
    via: kind === 'device' ? 'device-key' : 'api-token',
    credentialId: key.id,
    ...(key.deviceId !== null && key.deviceId !== undefined ? { deviceId: key.deviceId } : {}),
    ...(key.expiresAt ? { expiresAt: key.expiresAt } : {}),
  };
}

export function listApiKeys(ctx: AuthContext, userId: number): Promise<ApiKey[]> {
  return ctx.em.find(ApiKeySchema, { user: userId, kind: 'api-token', revokedAt: null }, { orderBy: { id: 'asc' } });
}

// Another user's key is answered as missing, never as forbidden.
export async function revokeApiKey(ctx: AuthContext, userId: number, keyId: number): Promise<void> {
  const changed = await ctx.em.nativeUpdate(
    ApiKeySchema,
    { id: keyId, user: userId, kind: 'api-token', revokedAt: null },
    { revokedAt: ctx.clock() },
  );
  if (!changed) throw new AppError('API_TOKEN_NOT_FOUND', `API token ${keyId} not found`);
}
