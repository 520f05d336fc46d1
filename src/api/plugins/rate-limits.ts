import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { sha256Hex } from '../../auth/secrets.ts';
import type { RateLimitRule } from '../../config.ts';
import type { Coordination } from '../../coordination/coordination.ts';
import { AppError } from '../../domain/errors.ts';

export type RateLimitGroup = 'standard' | 'sending' | 'uploads' | 'admin' | 'auth';

declare module 'fastify' {
  interface FastifyContextConfig {
    // Which budget a route draws from; `false` for probes and docs. Unset: admin routes use `admin`,
    // other /api routes `standard`.
    rateLimitGroup?: RateLimitGroup | false;
  }
}

const CREDENTIAL_HEADERS = ['x-admin-token', 'authorization', 'x-api-token', 'x-device-api-key'] as const;

// Counted per caller: the credential presented (hashed; valid or not, so guessing is counted too), else the IP.
function callerKey(request: FastifyRequest): string {
  for (const name of CREDENTIAL_HEADERS) {
    const value = request.headers[name];
    if (typeof value === 'string' && value) return `cred:${sha256Hex(value).slice(0, 24)}`;
  }
  return `ip:${request.ip}`;
}

function groupOf(request: FastifyRequest): RateLimitGroup | undefined {
  const { config } = request.routeOptions;
  if (config.rateLimitGroup !== undefined) return config.rateLimitGroup || undefined;
  if (!request.routeOptions.url?.startsWith('/api/')) return undefined;
  return config.auth === 'admin' ? 'admin' : 'standard';
}

// @fastify/rate-limit's store contract, counted in the coordination store (Redis or PostgreSQL), so a budget holds
// across every API process in both modes.
type Counted = (err: Error | null, result?: { current: number; ttl: number }) => void;

function coordinationStore(coordination: Coordination) {
  return class CoordinationStore {
    incr(key: string, done: Counted, timeWindow: number) {
      coordination.hit(`rate-limit:${key}`, timeWindow).then(
        ({ count, ttlMs }) => done(null, { current: count, ttl: ttlMs }),
        (err: Error) => done(err),
      );
    }

    // The limiters' keys name their group already.
    child() {
      return this;
    }
  };
}

// @fastify/rate-limit keeps a counter per route; the seed's budgets span route groups, so one limiter per
// group is applied from a single hook that also writes the seed's headers, with X-RateLimit-Reset as a Unix time
// in seconds.
export default fp<{ rules: Record<RateLimitGroup, RateLimitRule>; enabled: boolean }>(
  async (app, { rules, enabled }) => {
    if (!enabled) return;
    await app.register(rateLimit, { global: false, store: coordinationStore(app.coordination), skipOnError: false });
    const limiters = Object.fromEntries(
      Object.entries(rules).map(([group, rule]) => [
        group,
        app.createRateLimit({ max: rule.max, timeWindow: rule.windowMs, keyGenerator: (req) => `${group}:${callerKey(req)}` }),
      ]),
    ) as Record<RateLimitGroup, ReturnType<typeof app.createRateLimit>>;

    app.addHook('onRequest', async (request, reply) => {
      const group = groupOf(request);
      if (!group) return;
      const result = await limiters[group](request);
      if (result.isAllowed) return;
      const resetAt = Math.ceil((Date.now() + result.ttl) / 1000);
      reply.header('x-ratelimit-limit', result.max);
      reply.header('x-ratelimit-remaining', result.remaining);
      reply.header('x-ratelimit-reset', resetAt);
      if (result.isExceeded) {
        reply.header('retry-after', result.ttlInSeconds);
        throw new AppError('RATE_LIMIT_EXCEEDED', `Too many requests: ${result.max} per ${rules[group].windowMs / 1000} s for ${group} routes`, {
          group,
          limit: result.max,
          resetAt,
        });
      }
    });
  },
);
