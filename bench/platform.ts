import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startPlatform } from '../src/platform.ts';
import { backendEnv, createTestResources, type TestBackends } from '../tests/helpers/resources.ts';

export interface BenchPlatform {
  app: FastifyInstance;
  address: string;
  // An API token of the bootstrap admin.
  token: string;
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
  const platform = await startPlatform(config, createLogger(config)).catch(async (err) => {
    await resources.cleanup();
    throw err;
  });
  const close = async () => {
    for (const step of [() => platform.close(), () => resources.cleanup()]) {
      await step().catch((err: unknown) => {
        console.error('bench: cleanup failed:', err);
        process.exitCode = 1;
      });
    }
  };
  if (!platform.app) {
    await close();
    throw new Error('ROLE=api started no HTTP app');
  }
  const address = await platform.app.listen({ port: 0, host: '127.0.0.1' });
  return { app: platform.app, address, token, close };
}
