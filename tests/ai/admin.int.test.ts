import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrapAiProviders } from '../../src/ai/catalog.ts';
import { reachedCostLimit, recordUsage } from '../../src/ai/usage.ts';
import { loadConfig } from '../../src/config.ts';
import { sqlOf } from '../../src/events/event-store.ts';
import { ADMIN_TOKEN, bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// The AI administration: refusals that change nothing, keys that never leave, the environment's providers made once,
// and the usage log's totals and cost limits.
let platform: TestPlatform;
before(async () => {
  platform = await startTestPlatform();
});
after(() => platform.close());

const admin = { 'x-admin-token': ADMIN_TOKEN };
const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = admin) =>
  platform.request({ method, url, headers, ...(payload ? { payload } : {}) });
const sql = () => sqlOf(platform.app.orm.em.fork());
const limitsOf = async (username: string) => {
  const [row] = await sql()(
    'select daily_limit::float8 as daily, monthly_limit::float8 as monthly from ai_cost_limits l join users u on u.id = l.user_id where u.username = ?',
    [username],
  );
  return { dailyLimit: row!.daily === null ? null : Number(row!.daily), monthlyLimit: row!.monthly === null ? null : Number(row!.monthly) };
};

test('providers: validated, unique, keys sealed and never returned; users and anonymous callers kept out', async () => {
  const made = await call('POST', '/api/whatsapp/admin/ai/providers', { name: 'local-llm', endpoint: 'http://127.0.0.1:11434/v1', apiKey: 'sk-local-secret' });
  assert.equal(made.statusCode, 201, made.body);
  assert.deepEqual([made.json().data.kind, made.json().data.hasApiKey], ['openai-compatible', true]);
  const [row] = await sql()('select api_key from ai_providers where name = ?', ['local-llm']);
  assert.match(String(row!.api_key), /^v1\./);
  assert.ok(!String(row!.api_key).includes('sk-local-secret'));
  for (const res of [await call('GET', '/api/whatsapp/admin/ai/providers'), await call('GET', `/api/whatsapp/admin/ai/providers/${made.json().data.id}`)]) {
    assert.ok(!res.body.includes('sk-local-secret'));
  }
  const count = async () => (await call('GET', '/api/whatsapp/admin/ai/providers')).json().data.length;
  const before = await count();
  const refusals: [object, number, string][] = [
    [{ name: 'no-endpoint' }, 400, 'INVALID_AI_CONFIG'],
    [{ name: 'bad-endpoint', endpoint: 'ftp://x' }, 400, 'INVALID_AI_CONFIG'],
    [{ name: 'local-llm', endpoint: 'http://127.0.0.1:1/v1' }, 409, 'ALREADY_EXISTS'],
    [{ name: 'x', kind: 'cohere', endpoint: 'http://a' }, 400, 'VALIDATION_ERROR'],
    [{ name: 'has space', endpoint: 'http://a' }, 400, 'VALIDATION_ERROR'],
  ];
  for (const [payload, status, code] of refusals) {
    const res = await call('POST', '/api/whatsapp/admin/ai/providers', payload);
    assert.deepEqual([res.statusCode, res.json().code], [status, code], JSON.stringify(payload));
  }
  assert.equal(await count(), before, 'refusals made nothing');
  assert.equal((await call('PUT', '/api/whatsapp/admin/ai/providers/99999', { status: 'inactive' })).statusCode, 404);
  const removedKey = await call('PUT', `/api/whatsapp/admin/ai/providers/${made.json().data.id}`, { apiKey: null });
  assert.equal(removedKey.json().data.hasApiKey, false);

  const user = await createUser(platform, 'plain-user');
  assert.equal((await call('GET', '/api/whatsapp/admin/ai/providers', undefined, bearer(user.token))).statusCode, 403);
  assert.equal((await call('GET', '/api/whatsapp/admin/ai/providers', undefined, {})).statusCode, 401);
  const offered = (await call('GET', '/api/whatsapp/ai/providers', undefined, bearer(user.token))).json().data;
  assert.ok(offered.some((p: { name: string }) => p.name === 'local-llm'));
});

test('models: the provider must exist, prices are not negative, names unique per provider; inactive ones are not offered', async () => {
  const provider = (await call('POST', '/api/whatsapp/admin/ai/providers', { name: 'models-llm', endpoint: 'http://127.0.0.1:2/v1' })).json().data;
  const model = await call('POST', '/api/whatsapp/admin/ai/models', { name: 'm1', providerId: provider.id, inputCost: 0.5, outputCost: 1 });
  assert.equal(model.statusCode, 201, model.body);
  for (const [payload, status, code] of [
    [{ name: 'm2', providerId: 99999 }, 400, 'INVALID_AI_CONFIG'],
    [{ name: 'm2', providerId: provider.id, inputCost: -1 }, 400, 'VALIDATION_ERROR'],
    [{ name: 'm1', providerId: provider.id }, 409, 'ALREADY_EXISTS'],
  ] as const) {
    const res = await call('POST', '/api/whatsapp/admin/ai/models', payload);
    assert.deepEqual([res.statusCode, res.json().code], [status, code], JSON.stringify(payload));
  }
  assert.deepEqual((await call('GET', `/api/whatsapp/admin/ai/models?providerId=${provider.id}`)).json().data.map((m: { name: string }) => m.name), ['m1']);
  await call('PUT', `/api/whatsapp/admin/ai/models/${model.json().data.id}`, { status: 'inactive' });
  const offered = (await call('GET', '/api/whatsapp/ai/providers')).json().data.find((p: { name: string }) => p.name === 'models-llm');
  assert.deepEqual(offered.models, []);
});

test('providers from the environment are made once and never overwrite an administrator’s edits', async () => {
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', OPENAI_API_KEY: 'sk-env', JWT_SECRET: 'jwt-secret-for-tests-0123456789abcdef' });
  const config2 = { ...config, encryptionKey: platform.config.encryptionKey };
  assert.deepEqual(await bootstrapAiProviders(platform.app.orm.em.fork(), config2), ['openai']);
  const openai = (await call('GET', '/api/whatsapp/admin/ai/providers')).json().data.find((p: { name: string }) => p.name === 'openai');
  await call('PUT', `/api/whatsapp/admin/ai/providers/${openai.id}`, { displayName: 'Our OpenAI' });
  assert.deepEqual(await bootstrapAiProviders(platform.app.orm.em.fork(), config2), []);
  const again = (await call('GET', `/api/whatsapp/admin/ai/providers/${openai.id}`)).json().data;
  assert.equal(again.displayName, 'Our OpenAI');
  const models = (await call('GET', `/api/whatsapp/admin/ai/models?providerId=${openai.id}`)).json().data.map((m: { name: string }) => m.name);
  assert.deepEqual(models, ['gpt-4o-mini', 'gpt-4o']);
});

test('usage logs: one record per attempt id, filters, totals over every match, pages; cost limits and their alerts', async () => {
  const user = await createUser(platform, 'spender');
  const em = () => platform.app.orm.em.fork();
  const now = new Date();
  const record = (attemptId: string, provider: string, cost: number) =>
    recordUsage(em(), { attemptId, userId: user.id, purpose: 'reply', provider, model: 'm', inputTokens: 10, outputTokens: 5, cost, durationMs: 12, outcome: 'ok', at: now });
  for (let i = 0; i < 5; i++) await record(`a${i}`, i % 2 ? 'p-odd' : 'p-even', 0.25);
  await record('a0', 'p-even', 0.25);
  const page = (await call('GET', '/api/whatsapp/admin/ai/usage-logs?limit=2&provider=p-even')).json().data;
  assert.deepEqual([page.logs.length, page.total, page.totalCost], [2, 3, 0.75]);
  assert.equal(page.logs[0].userId, 'spender');
  const rest = (await call('GET', `/api/whatsapp/admin/ai/usage-logs?limit=2&provider=p-even&cursor=${page.nextCursor}`)).json().data;
  assert.deepEqual([rest.logs.length, rest.nextCursor], [1, null]);
  assert.equal((await call('GET', '/api/whatsapp/admin/ai/usage-logs?userId=spender')).json().data.total, 5);
  assert.equal((await call('GET', '/api/whatsapp/admin/ai/usage-logs?userId=nobody')).statusCode, 404);

  assert.equal(await reachedCostLimit(em(), user.id, now), undefined, 'no limits');
  assert.equal((await call('PUT', '/api/whatsapp/admin/ai/cost-alerts', { userId: 'spender', monthlyLimit: 5 })).statusCode, 200);
  assert.equal((await call('PUT', '/api/whatsapp/admin/ai/cost-alerts', { dailyLimit: 1 })).statusCode, 200);
  assert.equal((await call('PUT', '/api/whatsapp/admin/ai/cost-alerts', { dailyLimit: -1 })).statusCode, 400);
  const reached = await reachedCostLimit(em(), user.id, now);
  assert.deepEqual(reached && [reached.scope, reached.period, reached.threshold, reached.current], ['platform', 'daily', 1, 1.25]);
  const alerts = (await call('GET', '/api/whatsapp/admin/ai/cost-alerts')).json().data.alerts;
  const platformDaily = alerts.find((a: { userId: string | null; type: string }) => a.userId === null && a.type === 'daily_limit');
  const userMonthly = alerts.find((a: { userId: string | null; type: string }) => a.userId === 'spender' && a.type === 'monthly_limit');
  assert.deepEqual([platformDaily.current, platformDaily.triggered, platformDaily.date], [1.25, true, now.toISOString().slice(0, 10)]);
  assert.deepEqual([userMonthly.current, userMonthly.triggered, userMonthly.month], [1.25, false, now.toISOString().slice(0, 7)]);
  await call('PUT', '/api/whatsapp/admin/ai/cost-alerts', { dailyLimit: null });
  assert.equal(await reachedCostLimit(em(), user.id, now), undefined, 'under the user’s monthly limit');
  // 0 is a budget of nothing, not a cleared limit (nor is null a limit of 0): type coercion must not swap them.
  assert.equal((await call('PUT', '/api/whatsapp/admin/ai/cost-alerts', { userId: 'spender', monthlyLimit: 0 })).statusCode, 200);
  assert.deepEqual(await limitsOf('spender'), { dailyLimit: null, monthlyLimit: 0 });
  assert.equal((await call('PUT', '/api/whatsapp/admin/ai/cost-alerts', { userId: 'spender', monthlyLimit: null, dailyLimit: 0.5 })).statusCode, 200);
  assert.deepEqual(await limitsOf('spender'), { dailyLimit: 0.5, monthlyLimit: null });
  assert.equal((await call('PUT', '/api/whatsapp/admin/ai/cost-alerts', { userId: 'spender', dailyLimit: 'lots' })).statusCode, 400);
});
