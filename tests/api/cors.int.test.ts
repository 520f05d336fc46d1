import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { API_TOKEN, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// Seed 004's HTML example runs on a page of another origin and calls the API with X-API-Token: the browser asks
// first (a preflight without credentials), then sends the call and reads the answer only if allowed.
const preflight = (origin: string, url = '/api/whatsapp/devices') => ({
  method: 'OPTIONS' as const,
  url,
  headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-token,content-type' },
});

describe('production with CORS_ORIGINS', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform({
      NODE_ENV: 'production',
      ENCRYPTION_KEY: 'cd'.repeat(32),
      CORS_ORIGINS: 'https://app.example.com, null',
      RATE_LIMIT_STANDARD: '2/1m',
    });
  });
  after(() => platform.close());

  test('a preflight from an allowed origin is answered without credentials, allowing our headers and methods', async () => {
    const res = await platform.request(preflight('https://app.example.com'));
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
    const headers = String(res.headers['access-control-allow-headers']).toLowerCase().split(', ');
    for (const name of ['x-api-token', 'x-admin-token', 'x-device-api-key', 'authorization', 'content-type', 'idempotency-key', 'last-event-id', 'prefer']) {
      assert.ok(headers.includes(name), `${name} in ${headers}`);
    }
    const methods = String(res.headers['access-control-allow-methods']).split(', ');
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) assert.ok(methods.includes(method), method);
    assert.equal(res.headers.vary, 'Origin');
  });

  test('a file:// page (Origin: null) is allowed when configured', async () => {
    const res = await platform.request(preflight('null'));
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['access-control-allow-origin'], 'null');
  });

  test('another origin gets no Access-Control-Allow-Origin, on the preflight or the call', async () => {
    const res = await platform.request(preflight('https://evil.example.net'));
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    const call = await platform.request({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example.net' } });
    assert.equal(call.statusCode, 200);
    assert.equal(call.headers['access-control-allow-origin'], undefined);
  });

  test('preflights do not count against the rate limit; the call carries ACAO and exposes our headers', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await platform.request(preflight('https://app.example.com', '/api/auth/me'))).statusCode, 204);
    const call = await platform.request({
      method: 'GET',
      url: '/api/auth/me',
      headers: { origin: 'https://app.example.com', 'x-api-token': API_TOKEN },
    });
    assert.equal(call.statusCode, 200, call.body);
    assert.equal(call.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(call.headers['x-ratelimit-remaining'], '1', 'the preflights took nothing from the budget of 2');
    const exposed = String(call.headers['access-control-expose-headers']).split(', ');
    for (const name of ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After', 'X-Request-Id']) {
      assert.ok(exposed.includes(name), `${name} in ${exposed}`);
    }
  });
});

describe('development defaults', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform();
  });
  after(() => platform.close());

  test('any origin, a file:// page too, may call the API', async () => {
    for (const origin of ['http://localhost:8080', 'null']) {
      const res = await platform.request(preflight(origin));
      assert.equal(res.statusCode, 204, origin);
      assert.equal(res.headers['access-control-allow-origin'], '*', origin);
    }
    const call = await platform.request({ method: 'GET', url: '/api/auth/me', headers: { origin: 'null', 'x-api-token': API_TOKEN } });
    assert.equal(call.statusCode, 200);
    assert.equal(call.headers['access-control-allow-origin'], '*');
  });
});
