import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app.ts';
import { bootstrapAuth } from './auth/bootstrap.ts';
import type { Clock } from './auth/context.ts';
import type { Config } from './config.ts';
import { captureConsole } from './console-capture.ts';
import { openOrm } from './db/orm.ts';
import { createLiveFeed } from './events/live-feed.ts';
import { createAppendNotifier } from './events/notifier.ts';
import { projections } from './events/projections/index.ts';
import { startProjections } from './events/projections/runner.ts';
import { migrate } from './db/schema.ts';
import type { Logger } from './logger.ts';
import { openRedis } from './redis.ts';
import { closeQueues, createQueues } from './workers/queues.ts';
import { sendDispatcher } from './workers/sending/dispatcher.ts';
import { SendQueues } from './workers/sending/send-queues.ts';
import { loginBotReactor } from './workers/login-bot/reactor.ts';
import { startSessionHost } from './workers/sessions/session-host.ts';
import { sealPlainHeaders } from './webhooks/headers.ts';
import { webhookDispatcher } from './workers/webhooks/dispatcher.ts';
import { startWorkers } from './workers/worker.ts';

export interface Platform {
  app: FastifyInstance | undefined;
  close(): Promise<void>;
}

// Starts what the configured role runs (`all`: API and worker in one process). Migrations and the admin
// bootstrap run first, under a lock, whichever role starts first.
export async function startPlatform(config: Config, logger: Logger, clock: Clock = () => new Date()): Promise<Platform> {
  // From here on, installed packages' console output (libsignal's session dumps) goes to pino, reduced; given back last.
  const releaseConsole = captureConsole(logger);
  const orm = await openOrm(config).catch((err: unknown) => {
    releaseConsole();
    throw err;
  });
  const closers: (() => Promise<unknown>)[] = [async () => releaseConsole(), () => orm.close()];
  const close = async () => {
    for (const closeOne of closers.reverse()) await closeOne();
  };
  try {
    const applied = await migrate(orm);
    if (applied.length) logger.info({ applied }, 'migrations applied');
    await bootstrapAuth(orm.em.fork(), config, clock());
    const sealed = await sealPlainHeaders(orm.em.fork(), config.encryptionKey);
    if (sealed) logger.info({ endpoints: sealed }, 'custom webhook headers sealed');

    const redis = await openRedis(config.redisUrl);
    closers.push(() => redis.quit());
    const queues = createQueues(redis, config.redisPrefix);
    closers.push(() => closeQueues(queues));

    const notifier = await createAppendNotifier(config.databaseUrl, logger);
    closers.push(() => notifier.close());

    if (config.role !== 'api') {
      const workers = await startWorkers({
        orm,
        queues,
        connection: redis,
        prefix: config.redisPrefix,
        logger,
        clock,
        maxWaitMs: config.sending.maxWaitMs,
        webhooks: config.webhooks,
        encryptionKey: config.encryptionKey,
      });
      closers.push(() => workers.close());
      const sendQueues = new SendQueues(redis, config.redisPrefix);
      closers.push(() => sendQueues.close());
      const reactors = [sendDispatcher(sendQueues, clock), webhookDispatcher(queues.webhooks), loginBotReactor({ config, clock })];
      const runner = startProjections(orm, [...projections, ...reactors], notifier, logger);
      closers.push(() => runner.close());
      const sessionHost = startSessionHost({
        orm,
        redis,
        redisPrefix: config.redisPrefix,
        waWebSocketUrl: config.waWebSocketUrl,
        encryptionKey: config.encryptionKey,
        logger,
        owner: `${hostname()}:${process.pid}`,
        leaseTtlMs: config.sessionLeaseTtlMs,
        scanMs: config.sessionScanMs,
        ...(config.qrTimeoutMs ? { qrTimeoutMs: config.qrTimeoutMs } : {}),
        sending: config.sending,
        clock,
      });
      // Closed before the queues and Redis: sockets end and leases are released while Redis is still there.
      closers.push(() => sessionHost.close());
    }
    let app: FastifyInstance | undefined;
    if (config.role !== 'worker') {
      const liveFeed = await createLiveFeed(orm, notifier, logger);
      closers.push(async () => liveFeed.close());
      app = await buildApp({ config, orm, redis, queues, liveFeed, logger, clock });
      const server = app;
      // Closed first: stop taking requests before the worker and connections go.
      closers.push(() => server.close());
    }
    return { app, close };
  } catch (err) {
    await close();
    throw err;
  }
}
