import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import type { FileStorage } from '../files/storage.ts';
import type { Coordination } from '../coordination/coordination.ts';
import type { CacheInvalidation } from '../coordination/cache-invalidation.ts';
import type { QueueBackend } from '../workers/queue-backend.ts';
import type { Config } from '../config.ts';
import type { Orm } from '../db/orm.ts';
import type { Logger } from '../logger.ts';
import type { Clock } from '../auth/context.ts';
import type { LiveFeed } from '../events/live-feed.ts';
import type { Queues } from '../workers/queues.ts';
import authPlugin from './plugins/auth.ts';
import bullBoard from './plugins/bull-board.ts';
import contextPlugin from './plugins/context.ts';
import corsPlugin from './plugins/cors.ts';
import errorsPlugin, { clientErrorHandler, frameworkErrors } from './plugins/errors.ts';
import inputGuard from './plugins/input-guard.ts';
import formBodies from './plugins/form-bodies.ts';
import rateLimits from './plugins/rate-limits.ts';
import securityHeaders from './plugins/security-headers.ts';
import swaggerPlugin from './plugins/swagger.ts';
import apiTokenRoutes from './routes/api-tokens.ts';
import auditRoutes from './routes/audit.ts';
import authRoutes from './routes/auth.ts';
import deviceRoutes from './routes/devices.ts';
import eventRoutes from './routes/events.ts';
import websocketRoutes from './routes/websocket.ts';
import healthRoutes from './routes/health.ts';
import sessionRoutes from './routes/sessions.ts';
import messageRoutes from './routes/messages.ts';
import mediaMessageRoutes from './routes/media-messages.ts';
import fileRoutes from './routes/files.ts';
import messageHistoryRoutes from './routes/message-history.ts';
import campaignRoutes from './routes/campaigns.ts';
import numbersAndGroupsRoutes from './routes/numbers-and-groups.ts';
import loginBotRoutes from './routes/login-bot.ts';
import userRoutes from './routes/users.ts';
import webhookRoutes from './routes/webhooks.ts';
import aiRoutes from './routes/ai.ts';
import aiAdminRoutes from './routes/ai-admin.ts';
import businessTemplateRoutes from './routes/business-templates.ts';
import warmerRoutes from './routes/warmer.ts';
import sendPolicyRoutes from './routes/send-policy.ts';

export interface AppDeps {
  config: Config;
  storage: FileStorage;
  orm: Orm;
  coordination: Coordination;
  // The process's caches' invalidation (one per process, shared with its workers).
  invalidation: CacheInvalidation;
  queueBackend: QueueBackend;
  queues: Queues;
  liveFeed: LiveFeed;
  logger: Logger;
  clock?: Clock;
}

// Builds the HTTP application without listening, so tests drive it with `inject` or a real port alike.
// Layers: infrastructure plugins, then the auth and rate-limit hooks, then one plugin per resource.
export async function buildApp({ config, orm, coordination, invalidation, queueBackend, storage, queues, liveFeed, logger, clock = () => new Date() }: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.bodyLimit,
    trustProxy: true,
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
    // allErrors: a client learns of every field at fault in one answer (bodies are bounded by bodyLimit).
    // strictNumbers: NaN and Infinity are not numbers to a client (the input guard refuses those validation coerces).
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, useDefaults: true, allErrors: true, strictNumbers: true } },
    // Above the longest path parameter any route takes (200), so that schemas name the field; beyond it, and for
    // a URL that does not decode, fastify refuses before routing, in our shape.
    routerOptions: { maxParamLength: 256 },
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(errorsPlugin);
  // Before anything reads a parameter, the query string (credentials travel in ?token=) or the body.
  await app.register(inputGuard);
  await app.register(formBodies);
  await app.register(contextPlugin, { config, orm, coordination, invalidation, queueBackend, storage, clock });
  await app.register(securityHeaders, { hstsMaxAgeMs: config.hstsMaxAgeMs });
  await app.register(swaggerPlugin);
  // Before rate limits and auth: a preflight carries no credentials and must not count.
  await app.register(corsPlugin, { origins: config.corsOrigins });
  // Before the auth hook: its own hooks must see every upgrade request, so that a refused upgrade's socket is
  // closed after the error answer (otherwise it lingers and holds up shutdown).
  await app.register(websocket, {
    options: { maxPayload: 64 * 1024 },
    // Clients hear 1001 (going away: reconnect) rather than a close without a code.
    preClose(done) {
      for (const client of this.websocketServer.clients) client.close(1001, 'server shutting down');
      this.websocketServer.close(() => done());
    },
  });
  await app.register(rateLimits, {
    enabled: config.rateLimit.enabled,
    rules: config.rateLimit,
  });
  await app.register(authPlugin);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(healthRoutes, { queues, liveFeed });
  await app.register(authRoutes);
  await app.register(apiTokenRoutes);
  await app.register(userRoutes);
  await app.register(loginBotRoutes);
  await app.register(auditRoutes);
  await app.register(deviceRoutes, { liveFeed });
  await app.register(sessionRoutes);
  await app.register(messageRoutes, { liveFeed });
  await app.register(fileRoutes);
  await app.register(aiRoutes);
  await app.register(aiAdminRoutes);
  await app.register(businessTemplateRoutes);
  await app.register(warmerRoutes);
  await app.register(sendPolicyRoutes);
  await app.register(mediaMessageRoutes, { liveFeed });
  await app.register(messageHistoryRoutes);
  await app.register(campaignRoutes);
  await app.register(numbersAndGroupsRoutes);
  await app.register(webhookRoutes, { queues });
  await app.register(eventRoutes, { liveFeed, maxBufferBytes: config.sseMaxBufferBytes });
  await app.register(websocketRoutes, { liveFeed, maxBufferBytes: config.sseMaxBufferBytes });
  await app.register(bullBoard, { queues });
  return app as unknown as FastifyInstance;
}
