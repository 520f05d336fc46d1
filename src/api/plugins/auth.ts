import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { authenticateApiKey } from '../../auth/api-keys.ts';
import type { Principal } from '../../auth/context.ts';
import { secretsEqual, sha256Hex } from '../../auth/secrets.ts';
import { checkPassword } from '../../auth/login.ts';
import { authenticateJwt } from '../../auth/sessions.ts';
import { UserSchema } from '../../db/entities/user.ts';
import { AppError } from '../../domain/errors.ts';
import { authContext } from './context.ts';

// Who may call a route: nobody in particular, a user (JWT, API token or admin token), an admin, a device key
// (scoped to one device), or any of these.
export type AuthMode = 'public' | 'user' | 'admin' | 'device' | 'any';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthMode;
    // Also accept HTTP Basic (username and password), for pages a browser opens such as the queue dashboard.
    basicAuth?: boolean;
    // Also accept `?token=` (a JWT or key), for clients that cannot set headers: EventSource, browser WebSockets.
    queryToken?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

// A browser repeats Basic credentials on every request of a page; scrypt on each would cost ~0.3 s, so a
// verified header is remembered for a minute (a disabled user is still refused: the row is read each time).
const BASIC_CACHE_MS = 60_000;
const verifiedBasic = new Map<string, number>();

async function authenticateBasic(request: FastifyRequest, encoded: string): Promise<Principal> {
  const ctx = authContext(request);
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = decoded.slice(0, colon);
  const fingerprint = sha256Hex(encoded);
  const now = ctx.clock().getTime();
  if ((verifiedBasic.get(fingerprint) ?? 0) <= now) {
    await checkPassword(ctx, username, decoded.slice(colon + 1));
    if (verifiedBasic.size > 1000) verifiedBasic.clear();
    verifiedBasic.set(fingerprint, now + BASIC_CACHE_MS);
  }
  const user = await ctx.em.findOne(UserSchema, { username, disabledAt: null });
  if (!user) throw new AppError('INVALID_CREDENTIALS', 'Invalid username or password');
  return { userId: user.id, username: user.username, role: user.role, via: 'basic' };
}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.trim() || undefined;

async function authenticate(request: FastifyRequest, mode: AuthMode): Promise<Principal | null> {
  const ctx = authContext(request);
  const { headers } = request;

  const adminToken = header(headers['x-admin-token']);
  if (adminToken !== undefined) {
    const expected = ctx.config.adminToken;
    if (!expected || !secretsEqual(adminToken, expected)) throw new AppError('INVALID_ADMIN_TOKEN', 'Admin token is invalid');
    const admin = await ctx.em.findOne(UserSchema, { username: ctx.config.adminUsername, role: 'admin', disabledAt: null });
    if (!admin) throw new AppError('INVALID_ADMIN_TOKEN', 'Admin token is invalid: the admin user is missing or disabled');
    return { userId: admin.id, username: admin.username, role: admin.role, via: 'admin-token' };
  }

  const authorization = header(headers.authorization);
  const basic = authorization?.match(/^Basic\s+(\S+)$/i)?.[1];
  if (basic && request.routeOptions.config.basicAuth) return authenticateBasic(request, basic);
  const queryToken = request.routeOptions.config.queryToken ? (request.query as { token?: string }).token : undefined;
  const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? (authorization ? undefined : queryToken);
  if (authorization && !bearer) throw new AppError('INVALID_TOKEN', 'Authorization header must read "Bearer <token>"');

  // A key sent as a Bearer token is taken by its prefix, so clients that only know Bearer can use keys too.
  if (bearer && !bearer.startsWith('wa_') && !bearer.startsWith('dev_')) return authenticateJwt(ctx, bearer);
  const apiToken = header(headers['x-api-token']) ?? (bearer?.startsWith('wa_') ? bearer : undefined);
  if (apiToken) return authenticateApiKey(ctx, apiToken, 'api-token');
  const deviceKey = header(headers['x-device-api-key']) ?? bearer;
  if (deviceKey) {
    if (mode !== 'device' && mode !== 'any') throw new AppError('FORBIDDEN', 'A device API key cannot call this route');
    return authenticateApiKey(ctx, deviceKey, 'device');
  }
  return null;
}

export default fp(async (app) => {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const mode = request.routeOptions.config.auth ?? 'user';
    if (mode === 'public') return;
    const principal = await authenticate(request, mode);
    if (!principal) throw new AppError('UNAUTHORIZED', 'Not authenticated: send "Authorization: Bearer <token>" or "X-API-Token"');
    if (mode === 'admin' && principal.role !== 'admin') throw new AppError('FORBIDDEN', 'This route is for administrators');
    if (mode === 'device' && principal.via !== 'device-key') {
      throw new AppError('UNAUTHORIZED', 'This route takes a device API key in "X-Device-API-Key"');
    }
    request.principal = principal;
  });
});

// For handlers of authenticated routes: the hook above guarantees a principal.
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('UNAUTHORIZED', 'Not authenticated');
  return request.principal;
}
