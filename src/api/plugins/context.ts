import fp from 'fastify-plugin';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Coordination } from '../../coordination/coordination.ts';
import type { Config } from '../../config.ts';
import type { FileStorage } from '../../files/storage.ts';
import type { Orm } from '../../db/orm.ts';
import type { QueueBackend } from '../../workers/queue-backend.ts';
import type { FastifyRequest } from 'fastify';
import type { AuditSource } from '../../auth/audit.ts';
import type { AuthContext, Clock, Principal } from '../../auth/context.ts';
import { InvalidatedCache, type CacheInvalidation } from '../../coordination/cache-invalidation.ts';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    orm: Orm;
    coordination: Coordination;
    queueBackend: QueueBackend;
    storage: FileStorage;
    clock: Clock;
    // What changes to cached data announce (src/coordination/cache-invalidation.ts).
    invalidation: CacheInvalidation;
    // Credentials checked in the last CREDENTIALS_MAX_AGE_MS, emptied in every process by a revocation.
    credentials: InvalidatedCache<Principal>;
  }
  interface FastifyRequest {
    // A fresh identity map per request (MikroORM's unit of work must not be shared between requests).
    em: EntityManager;
  }
}

export interface ContextOptions {
  config: Config;
  orm: Orm;
  coordination: Coordination;
  invalidation: CacheInvalidation;
  queueBackend: QueueBackend;
  storage: FileStorage;
  clock: Clock;
}

// Long enough that a client's burst reads its credential once; bounded so a missed announcement cannot live long.
const CREDENTIALS_MAX_AGE_MS = 30_000;
const CREDENTIALS_MAX_ENTRIES = 10_000;

export default fp<ContextOptions>(async (app, { config, orm, coordination, invalidation, queueBackend, storage, clock }) => {
  app.decorate('invalidation', invalidation);
  app.decorate('credentials', new InvalidatedCache<Principal>(invalidation, { maxAgeMs: CREDENTIALS_MAX_AGE_MS, maxEntries: CREDENTIALS_MAX_ENTRIES }));
  app.decorate('config', config);
  app.decorate('orm', orm);
  app.decorate('coordination', coordination);
  app.decorate('queueBackend', queueBackend);
  app.decorate('storage', storage);
  app.decorate('clock', clock);
  app.decorateRequest('em', null as unknown as EntityManager);
  app.addHook('onRequest', async (request) => {
    request.em = orm.em.fork() as EntityManager;
  });
});

// The caller of a request, for the audit trail: the principal once authenticated, the client's address
// (X-Forwarded-For's client behind a proxy: trustProxy) and the request id.
export function auditSourceOf(request: FastifyRequest): AuditSource {
  const p = request.principal;
  return {
    ...(p ? { actor: { userId: p.userId, username: p.username, via: p.via } } : {}),
    ip: request.ip,
    requestId: request.id,
    route: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
  };
}

export function authContext(request: FastifyRequest): AuthContext {
  const { config, clock, credentials } = request.server;
  return { em: request.em, config, clock, audit: auditSourceOf(request), credentials };
}

// The same for services that need more of the configuration than authentication does.
export function serviceContext(request: FastifyRequest): { em: EntityManager; config: Config; clock: Clock; audit: AuditSource; invalidation: CacheInvalidation } {
  return { em: request.em, config: request.server.config, clock: request.server.clock, audit: auditSourceOf(request), invalidation: request.server.invalidation };
}
