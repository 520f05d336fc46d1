import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startPlatform } from '../../src/platform.ts';
import { backendEnv, createTestResources } from './resources.ts';

export const ADMIN = { username: 'admin', password: 'admin-password-for-tests' };
export const ADMIN_TOKEN = 'admin-token-for-tests';
export const API_TOKEN = 'api-token-for-tests';

export interface TestPlatform {
  app: FastifyInstance;
  config: Config;
  // The platform's clock; tests move it forward instead of sleeping.
  advance(ms: number): void;
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

// The real platform (API and worker) on its own database and Redis prefix (or data directory, in the suite's
// embedded mode), with an adjustable clock.
export async function startTestPlatform(env: Record<string, string> = {}): Promise<TestPlatform> {
  const resources = createTestResources();
  const config = loadConfig({
    NODE_ENV: 'test',
    ...backendEnv(resources),
    // Tests send to many new contacts from new numbers; the send policy's own tests turn it on.
    SEND_POLICY: 'off',
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    ADMIN_TOKEN,
    API_TOKEN,
    JWT_SECRET: 'jwt-secret-for-tests-0123456789abcdef',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    RATE_LIMIT_STANDARD: '100000/1m',
    RATE_LIMIT_ADMIN: '100000/1m',
    RATE_LIMIT_AUTH: '100000/1m',
    RATE_LIMIT_SENDING: '100000/1m',
    // Nothing listens there: a test that needs WhatsApp starts the simulator and passes its URL.
    WA_WEBSOCKET_URL: 'ws://127.0.0.1:9/ws/chat',
    // Only src/main.ts listens on WS_PORT; a test wanting seed 004's port starts listenWsPort on a free one.
    WS_PORT: 'off',
    ...env,
  });
  let offset = 0;
  const clock = () => new Date(Date.now() + offset);
  const platform = await startPlatform(config, createLogger(config), clock).catch(async (err) => {
    await resources.cleanup();
    throw err;
  });
  const app = platform.app!;
  return {
    app,
    config,
    advance: (ms) => {
      offset += ms;
    },
    request: (options) => app.inject(options),
    close: async () => {
      await platform.close();
      await resources.cleanup();
    },
  };
}

export async function loginAs(platform: TestPlatform, username: string, password: string): Promise<string> {
  const res = await platform.request({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return res.json().data.token;
}

export async function createUser(platform: TestPlatform, username: string, password = 'password-of-a-user'): Promise<{ id: number; username: string; token: string }> {
  const res = await platform.request({
    method: 'POST',
    url: '/api/whatsapp/admin/users',
    headers: { 'x-admin-token': ADMIN_TOKEN },
    payload: { username, password },
  });
  if (res.statusCode !== 201) throw new Error(`user creation failed: ${res.statusCode} ${res.body}`);
  return { id: res.json().data.id, username, token: await loginAs(platform, username, password) };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
