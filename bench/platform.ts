import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startPlatform, type Platform } from '../src/platform.ts';
import { backendEnv, createTestResources, type TestBackends } from '../tests/helpers/resources.ts';
import { cleanupAll } from './stats.ts';

// Sending as fast as the platform goes: the least interval config allows (0 is refused), no jitter, no typing; new
// devices picked up by the host's scan at once. Baileys logs every pairing's 515 restart as an error, so only fatal
// lines show: a link or send that really fails fails the benchmark's waits.
export const UNPACED_SENDING = {
  // New numbers sending to hundreds of new contacts: exactly what the send policy holds back.
  SEND_POLICY: 'off',
  SEND_MIN_INTERVAL: '1ms',
  SEND_JITTER: '0',
  SEND_TYPING: 'false',
  SEND_RECIPIENT_INTERVAL: '0',
  SESSION_SCAN_INTERVAL: '200ms',
  LOG_LEVEL: 'fatal',
};

export interface BenchPlatform {
  app: FastifyInstance;
  address: string;
  // An API token of the bootstrap admin.
  token: string;
  // The PostgreSQL in use (the embedded one's in that mode).
  databaseUrl: string;
  // Stops the platform and starts it again on the same stores and port, as a redeploy does: its sessions are
  // restored from storage. `app` is the new one afterwards.
  restart(): Promise<void>;
  // Closes the platform and removes its database and Redis keys; each step runs even if one before it fails.
  close(): Promise<void>;
}

// The platform's API role on a throwaway database and Redis prefix, listening on a free loopback port, with
// rate limits off (a benchmark would otherwise measure 429s). `env` overrides settings (e.g. ROLE=all, to send).
// `backends`: the machine's PostgreSQL and Redis, or as the embedded mode (see tests/helpers/resources.ts).
export async function startBenchPlatform(env: Record<string, string> = {}, backends: TestBackends = 'redis'): Promise<BenchPlatform> {
  const resources = createTestResources('bench');
  const token = randomBytes(24).toString('hex');
  const config = loadConfig({
    ...process.env,
    ...backendEnv(resources, backends),
    ROLE: 'api',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_ENABLED: 'false',
    API_TOKEN: token,
    PORT: '0',
    ...env,
  });
  let running: Platform | undefined;
  let address = '';
  const start = async () => {
    running = await startPlatform(config, createLogger(config));
    if (!running.app) throw new Error('ROLE=api started no HTTP app');
    // A restart listens where the clients already point.
    address = await running.app.listen({ port: address ? Number(new URL(address).port) : 0, host: '127.0.0.1' });
  };
  const close = () => cleanupAll('bench', [() => running?.close(), () => resources.cleanup()]);
  try {
    await start();
  } catch (err) {
    await close();
    throw err;
  }
  return {
    get app() {
      return running!.app!;
    },
    get address() {
      return address;
    },
    token,
    get databaseUrl() {
      return running!.databaseUrl;
    },
    restart: async () => {
      const stopping = running;
      running = undefined;
      await stopping?.close();
      await start();
    },
    close,
  };
}
