import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, DEV_SECRETS, loadConfig, parseDuration } from '../src/config.ts';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
};

const productionSecrets = {
  NODE_ENV: 'production',
  JWT_SECRET: 'a-production-secret-that-is-long-enough',
  ENCRYPTION_KEY: 'ab'.repeat(32),
  ADMIN_PASSWORD: 'a real password',
};

test('development starts with defaults against local services', () => {
  const config = loadConfig({});
  assert.equal(config.port, 3000);
  assert.equal(config.role, 'all');
  assert.equal(config.redisPrefix, 'wa');
  assert.equal(config.jwtTtlMs, 24 * 3_600_000);
  assert.equal(config.waWebSocketUrl, 'wss://web.whatsapp.com/ws/chat');
  assert.deepEqual(config.rateLimit.standard, { max: 100, windowMs: 15 * 60_000 });
  assert.deepEqual(config.rateLimit.sending, { max: 60, windowMs: 60_000 });
  assert.deepEqual(config.rateLimit.uploads, { max: 20, windowMs: 60_000 });
  assert.deepEqual(config.rateLimit.admin, { max: 200, windowMs: 15 * 60_000 });
  assert.equal(config.encryptionKey.length, 32);
});

test('neither DATABASE_URL nor REDIS_URL: the embedded mode, its data in DATA_DIR; a split role needs a database of its own', () => {
  const config = loadConfig({});
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.redisUrl, undefined);
  assert.match(config.dataDir, /\/data$/);
  assert.equal(loadConfig({ DATA_DIR: 'relative/dir' }).dataDir, `${process.cwd()}/relative/dir`);
  assert.deepEqual(problemsOf({ ROLE: 'worker' }), [
    'ROLE=worker needs DATABASE_URL: the embedded PostgreSQL (DATABASE_URL unset) serves one process, which runs both roles (ROLE=all)',
  ]);
  assert.equal(loadConfig({ ROLE: 'api', DATABASE_URL: 'postgres://db/wa' }).redisUrl, undefined, 'queues on PostgreSQL');
});

test('production refuses missing secrets, naming each', () => {
  const problems = problemsOf({ NODE_ENV: 'production' });
  for (const name of ['JWT_SECRET', 'ENCRYPTION_KEY', 'ADMIN_PASSWORD']) {
    assert.ok(problems.some((p) => p.startsWith(`${name} is required in production`)), `${name}: ${problems.join('; ')}`);
  }
});

test('production refuses the development defaults', () => {
  const problems = problemsOf({ ...productionSecrets, ADMIN_TOKEN: DEV_SECRETS.ADMIN_TOKEN, API_TOKEN: DEV_SECRETS.API_TOKEN });
  assert.deepEqual(problems.map((p) => p.split(' ')[0]).sort(), ['ADMIN_TOKEN', 'API_TOKEN']);
});

test('production starts with real secrets; optional tokens stay off when unset', () => {
  const config = loadConfig(productionSecrets);
  assert.equal(config.adminToken, undefined);
  assert.equal(config.apiToken, undefined);
  assert.equal(config.logLevel, 'info');
});

test('bad values are reported all at once, as sentences a person can act on', () => {
  const problems = problemsOf({ PORT: 'eighty', ROLE: 'both', JWT_TTL: 'soon', RATE_LIMIT_SENDING: 'lots', REDIS_PREFIX: 'a:b', ENCRYPTION_KEY: 'short', DATABASE_URL: 'mysql://x' });
  assert.equal(problems.length, 7, problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('PORT="eighty" must be a whole number')));
  assert.ok(problems.some((p) => p.includes('openssl rand -hex 32')));
});

test('durations read seconds by default and take units', () => {
  assert.equal(parseDuration('90'), 90_000);
  assert.equal(parseDuration('15m'), 900_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  assert.equal(parseDuration('1 week'), undefined);
});

test("WS_PORT: seed 004's 3001 unless set; off for none; 0 for any free port", () => {
  assert.equal(loadConfig({}).wsPort, 3001);
  assert.equal(loadConfig({ WS_PORT: 'off' }).wsPort, undefined);
  assert.equal(loadConfig({ WS_PORT: '0' }).wsPort, 0);
  assert.equal(loadConfig({ WS_PORT: '4001' }).wsPort, 4001);
  assert.deepEqual(problemsOf({ WS_PORT: 'no' }), ['WS_PORT="no" must be a whole number from 0 to 65535']);
});

test('CORS_ORIGINS: any origin in development, none in production unless listed', () => {
  assert.equal(loadConfig({}).corsOrigins, '*');
  assert.deepEqual(loadConfig(productionSecrets).corsOrigins, []);
  assert.deepEqual(loadConfig({ ...productionSecrets, CORS_ORIGINS: 'https://app.example.com/, null' }).corsOrigins, ['https://app.example.com', 'null']);
  assert.equal(loadConfig({ ...productionSecrets, CORS_ORIGINS: '*' }).corsOrigins, '*');
  assert.deepEqual(loadConfig({ CORS_ORIGINS: 'none' }).corsOrigins, []);
  assert.deepEqual(problemsOf({ CORS_ORIGINS: 'app.example.com' }), [
    'CORS_ORIGINS has app.example.com: origins read like https://app.example.com (or *, none, null)',
  ]);
});

test('LOGIN_BOT_RATE: 3 per 10 minutes by default, like the other rules when set', () => {
  assert.deepEqual(loadConfig({}).loginBotRate, { max: 3, windowMs: 10 * 60_000 });
  assert.deepEqual(loadConfig({ LOGIN_BOT_RATE: '5/1h' }).loginBotRate, { max: 5, windowMs: 3_600_000 });
  assert.deepEqual(problemsOf({ LOGIN_BOT_RATE: 'often' }), ['LOGIN_BOT_RATE="often" must look like 100/15m (requests per window)']);
});
