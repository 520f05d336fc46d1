import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app.ts';
import { bootstrapAuth } from './auth/bootstrap.ts';
import type { Clock } from './auth/context.ts';
import type { Config } from './config.ts';
import { captureConsole } from './console-capture.ts';
import { openOrm } from './db/orm.ts';
import { openCoordination, openDatabase } from './backends.ts';
import { openStorage } from './files/open-storage.ts';
import { sweepScratch } from './files/scratch.ts';
import { createLiveFeed } from './events/live-feed.ts';
import { createAppendNotifier } from './events/notifier.ts';
import { createCacheInvalidation } from './coordination/cache-invalidation.ts';
import { startLogReaders } from './events/projections/index.ts';
import { migrate } from './db/schema.ts';
import type { Logger } from './logger.ts';
import { closeQueues, createQueues } from './workers/queues.ts';
import { sendDispatcher } from './workers/sending/dispatcher.ts';
import { SendQueues } from './workers/sending/send-queues.ts';
import { loginBotReactor } from './workers/login-bot/reactor.ts';
import { startSessionHost } from './workers/sessions/session-host.ts';
import { sealPlainHeaders } from './webhooks/headers.ts';
import { webhookDispatcher } from './workers/webhooks/dispatcher.ts';
import { startWorkers } from './workers/worker.ts';
import { mediaDownloadDispatcher } from './workers/media/download-dispatcher.ts';
import { aiReplyReactor } from './ai/reactor.ts';
import { warmerReactor } from './warmer/reactor.ts';
import { bootstrapAiProviders } from './ai/catalog.ts';

export interface Platform {
  app: FastifyInstance | undefined;
  // The PostgreSQL in use (the embedded one's when DATABASE_URL is unset).
  databaseUrl: string;
  close(): Promise<void>;
}

// Starts what the configured role runs (`all`: API and worker in one process). Migrations and the admin
// bootstrap run first, under a lock, whichever role starts first.
export async function startPlatform(config: Config, logger: Logger, clock: Clock = () => new Date()): Promise<Platform> {
  // From here on, installed packages' console output (libsignal's session dumps) goes to pino, reduced; given back last.
  const releaseConsole = captureConsole(logger);
  const closers: (() => Promise<unknown>)[] = [async () => releaseConsole()];
  const close = async () => {
    for (const closeOne of closers.reverse()) await closeOne();
  };
  try {
    const database = await openDatabase(config, logger);
    closers.push(() => database.close());
    const orm = await openOrm(database.url);
    closers.push(() => orm.close());
    const applied = await migrate(orm);
    if (applied.length) logger.info({ applied }, 'migrations applied');
    await bootstrapAuth(orm.em.fork(), config, clock());
    const sealed = await sealPlainHeaders(orm.em.fork(), config.encryptionKey);
    if (sealed) logger.info({ endpoints: sealed }, 'custom webhook headers sealed');
    const aiProviders = await bootstrapAiProviders(orm.em.fork(), config);
    if (aiProviders.length) logger.info({ providers: aiProviders }, 'AI providers made from the environment');

    const { coordination, queueBackend, ...coordinated } = await openCoordination(config, database.url, logger);
    closers.push(() => coordinated.close());
    const invalidation = await createCacheInvalidation(coordination, logger);
    closers.push(() => invalidation.close());
    // This start may have changed API_TOKEN's row (bootstrapAuth): processes already running forget it.
    await invalidation.announce();
    const { storage, chosen: storageChosen } = await openStorage(config.files.storage);
    const swept = await sweepScratch(clock());
    if (swept) logger.info({ swept }, 'removed scratch directories left by stopped processes');
    closers.push(() => storage.close());
    logger.info({ database: database.chosen, queues: coordinated.chosen, storage: storageChosen }, 'backends chosen');
    const queues = createQueues(queueBackend);
    closers.push(() => closeQueues(queues));

    const notifier = await createAppendNotifier(database.url, logger);
    closers.push(() => notifier.close());

    if (config.role !== 'api') {
      const workers = await startWorkers({
        orm,
        queues,
        backend: queueBackend,
        coordination,
        logger,
        clock,
        maxWaitMs: config.sending.maxWaitMs,
        webhooks: config.webhooks,
        encryptionKey: config.encryptionKey,
        storage,
        config,
        invalidation,
      });
      closers.push(() => workers.close());
      const sendQueues = new SendQueues(queueBackend);
      closers.push(() => sendQueues.close());
      const reactors = [
        sendDispatcher(sendQueues, clock),
        webhookDispatcher(queues.webhooks),
        mediaDownloadDispatcher(queues.media),
        loginBotReactor({ config, clock }),
        aiReplyReactor({ queue: queues.ai, clock, attempts: config.ai.attempts }),
        warmerReactor({ queue: queues.warmer, clock }),
      ];
      const readers = startLogReaders(orm, reactors, notifier, logger);
      closers.push(() => readers.close());
      const sessionHost = startSessionHost({
        orm,
        coordination,
        queues: queueBackend,
        waWebSocketUrl: config.waWebSocketUrl,
        encryptionKey: config.encryptionKey,
        logger,
        owner: `${hostname()}:${process.pid}`,
        leaseTtlMs: config.sessionLeaseTtlMs,
        scanMs: config.sessionScanMs,
        ...(config.qrTimeoutMs ? { qrTimeoutMs: config.qrTimeoutMs } : {}),
        sending: config.sending,
        storage,
        clock,
      });
      // Closed before the queues and coordination: sockets end and leases are released while the store is still there.
      closers.push(() => sessionHost.close());
    }
    let app: FastifyInstance | undefined;
    if (config.role !== 'worker') {
      const liveFeed = await createLiveFeed(orm, notifier, logger);
      closers.push(async () => liveFeed.close());
      app = await buildApp({ config, orm, coordination, invalidation, queueBackend, storage, queues, liveFeed, logger, clock });
      const server = app;
      // Closed first: stop taking requests before the worker and connections go.
      closers.push(() => server.close());
    }
    return { app, databaseUrl: database.url, close };
  } catch (err) {
    await close();
    throw err;
  }
}
