import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/context.ts';
import { authenticateAdminToken, authenticateCredential, type CredentialSource } from '../../auth/credentials.ts';
import { sha256Hex } from '../../auth/secrets.ts';
import { checkPassword } from '../../auth/login.ts';
import { UserSchema } from '../../db/entities/user.ts';
import { AppError } from '../../domain/errors.ts';
import { heldScopes, type Scope } from '../../domain/scopes.ts';
import { authContext } from './context.ts';

// Who may call a route: nobody in particular, a user (JWT, API token or admin token), an admin, a device key
// (scoped to one device), or any of these. `signed`: a user, or a request carrying a `signature` in its query,
// which the route itself checks (file links that work without credentials, src/files/signed-urls.ts).
export type AuthMode = 'public' | 'user' | 'admin' | 'device' | 'any' | 'signed';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthMode;
    // The scope a credential needs for this route; null: none (the route only says who you are). Every
    // authenticated route declares it (checked at start-up), and the OpenAPI document shows it.
    scope?: Scope | null;
    // Also accept HTTP Basic (username and password), for pages a browser opens such as the queue dashboard.
    basicAuth?: boolean;
    // Also accept `?token=` (any credential), for clients that cannot set headers: EventSource, browser WebSockets.
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

// Every credential is accepted in its own header, as `Authorization: Bearer`, and as `?token=` on routes that
// browsers open without headers (SSE, WebSockets). X-Admin-Token is read first (authenticate, below), because
// seed 004 sends it beside X-API-Token and it must win.
function presented(request: FastifyRequest): { credential: string; source: CredentialSource } | undefined {
  const { headers } = request;
  const authorization = header(headers.authorization);
  if (authorization) {
    const bearer = authorization.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (!bearer) throw new AppError('INVALID_TOKEN', 'Authorization header must read "Bearer <token>"');
    return { credential: bearer, source: 'bearer' };
  }
  const apiToken = header(headers['x-api-token']);
  if (apiToken) return { credential: apiToken, source: 'x-api-token' };
  const deviceKey = header(headers['x-device-api-key']);
  if (deviceKey) return { credential: deviceKey, source: 'x-device-api-key' };
  const queryToken = request.routeOptions.config.queryToken ? (request.query as { token?: unknown }).token : undefined;
  if (typeof queryToken === 'string' && queryToken) return { credential: queryToken, source: 'query' };
  return undefined;
}

async function authenticate(request: FastifyRequest, mode: AuthMode): Promise<Principal | null> {
  const ctx = authContext(request);
  const adminToken = header(request.headers['x-admin-token']);
  if (adminToken !== undefined) return authenticateAdminToken(ctx, adminToken);

  const basic = header(request.headers.authorization)?.match(/^Basic\s+(\S+)$/i)?.[1];
  if (basic && request.routeOptions.config.basicAuth) return authenticateBasic(request, basic);
  const given = presented(request);
  if (!given) return null;
  const principal = await authenticateCredential(ctx, given.credential, given.source);
  if (principal.via === 'device-key' && mode !== 'device' && mode !== 'any') {
    throw new AppError('FORBIDDEN', 'A device API key cannot call this route');
  }
  return principal;
}

export default fp(async (app) => {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const mode = request.routeOptions.config.auth ?? 'user';
    if (mode === 'public') return;
    if (mode === 'signed' && (request.query as { signature?: unknown } | undefined)?.signature !== undefined) return;
    const principal = await authenticate(request, mode);
    if (!principal) throw new AppError('UNAUTHORIZED', 'Not authenticated: send "Authorization: Bearer <token>" or "X-API-Token"');
    if (mode === 'admin' && principal.role !== 'admin') throw new AppError('FORBIDDEN', 'This route is for administrators');
    if (mode === 'device' && principal.via !== 'device-key') {
      throw new AppError('UNAUTHORIZED', 'This route takes a device API key in "X-Device-API-Key"');
    }
    const scope = request.routeOptions.config.scope;
    if (scope && !heldScopes(principal.role, principal.scopes).includes(scope)) {
      throw new AppError('FORBIDDEN', `This credential lacks the "${scope}" scope this route needs`);
    }
    request.principal = principal;
  });
  // A route that forgot its scope would be open to every token: refuse to start instead. Checked once all
  // routes are in, since plugins may still set a route's config in their own onRoute hooks.
  const routes: { method: string | string[]; url: string; config?: { auth?: AuthMode; scope?: Scope | null } }[] = [];
  app.addHook('onRoute', (route) => void routes.push(route));
  app.addHook('onReady', async () => {
    const unscoped = routes.filter((route) => route.config?.auth !== 'public' && route.config?.scope === undefined);
    if (unscoped.length) {
      const names = unscoped.map((route) => `${String(route.method)} ${route.url}`).join(', ');
      throw new Error(`Routes without a declared scope (add config.scope: a scope, or null for none): ${names}`);
    }
  });
});

// For handlers of authenticated routes: the hook above guarantees a principal.
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('UNAUTHORIZED', 'Not authenticated');
  return request.principal;
}
