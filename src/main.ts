import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { listenWsPort } from './api/ws-port.ts';
import { startPlatform } from './platform.ts';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const logger = createLogger(config);
let platform;
try {
  platform = await startPlatform(config, logger);
} catch (err) {
  logger.fatal(err instanceof Error ? err.message : err);
  logger.flush();
  process.exit(1);
}
const { app, close } = platform;
// For the offline demo (demo/offline.ts), which reads the log of whichever PostgreSQL the platform chose.
export const databaseUrl = platform.databaseUrl;

let wsPort: Awaited<ReturnType<typeof listenWsPort>> | undefined;
if (app) {
  await app.listen({ host: config.host, port: config.port });
  if (config.wsPort !== undefined) {
    try {
      wsPort = await listenWsPort(app, config.wsPort, config.host);
    } catch (err) {
      // The port seed 004's examples use is a common one for a client's own server too.
      const busy = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      logger.fatal(busy ? `WS_PORT ${config.wsPort} is in use: set WS_PORT to a free port, or to off` : err);
      logger.flush();
      process.exit(1);
    }
    logger.info({ port: wsPort.port }, "seed 004's WebSocket port listening (WS_PORT)");
  }
}
logger.info({ role: config.role }, 'platform started');

// SIGTERM/SIGINT: stop accepting requests, let running jobs finish, close connections, flush logs. Running
// jobs get SHUTDOWN_TIMEOUT; past it the process exits anyway (BullMQ then hands unfinished jobs to another
// worker as stalled).
closeWithGrace({ delay: config.shutdownTimeoutMs, logger }, async ({ signal, err }) => {
  if (err) logger.error({ err }, 'shutting down after an error');
  else logger.info({ signal }, 'shutting down');
  // The WebSocket port stops accepting at once and finishes when the app has closed its sockets (1001).
  await Promise.all([wsPort?.close(), close()]);
  logger.info('stopped');
  logger.flush();
});
