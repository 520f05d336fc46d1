import fp from 'fastify-plugin';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { Config } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import type { AuthContext, Clock } from '../../auth/context.ts';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    orm: Orm;
    redis: Redis;
    clock: Clock;
  }
  interface FastifyRequest {
    // A fresh identity map per request (MikroORM's unit of work must not be shared between requests).
    em: EntityManager;
  }
}

export interface ContextOptions {
  config: Config;
  orm: Orm;
  redis: Redis;
  clock: Clock;
}

export default fp<ContextOptions>(async (app, { config, orm, redis, clock }) => {
  app.decorate('config', config);
  app.decorate('orm', orm);
  app.decorate('redis', redis);
  app.decorate('clock', clock);
  app.decorateRequest('em', null as unknown as EntityManager);
  app.addHook('onRequest', async (request) => {
    request.em = orm.em.fork() as EntityManager;
  });
});

export function authContext(request: { em: EntityManager; server: { config: Config; clock: Clock } }): AuthContext {
  return { em: request.em, config: request.server.config, clock: request.server.clock };
}

// The same for services that need more of the configuration than authentication does.
export function serviceContext(request: { em: EntityManager; server: { config: Config; clock: Clock } }): { em: EntityManager; config: Config; clock: Clock } {
  return { em: request.em, config: request.server.config, clock: request.server.clock };
}
