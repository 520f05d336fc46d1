import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sqlOf } from '../../src/events/event-store.ts';
import { ADMIN, ADMIN_TOKEN, API_TOKEN, bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

let platform: TestPlatform;
before(async () => {
  platform = await startTestPlatform({ BODY_LIMIT: '2048', RATE_LIMIT_STANDARD: '3/1m', RATE_LIMIT_AUTH: '100/1m' });
});
after(() => platform.close());

const admin = { 'x-admin-token': ADMIN_TOKEN };

describe('validation', () => {
  test('a body that breaks the schema is 400 VALIDATION_ERROR with the fields at fault', async () => {
    const res = await platform.request({ method: 'POST', url: '/api/whatsapp/admin/users', headers: admin, payload: { username: 'x y', password: 'short' } });
    assert.equal(res.statusCode, 400);
    const body = res.json();
    assert.equal(body.success, false);
    assert.equal(body.code, 'VALIDATION_ERROR');
    const fields = body.details.map((d: { field: string }) => d.field);
    assert.ok(fields.includes('body.username') && fields.includes('body.password'), JSON.stringify(body.details));
  });

  test('a missing field is named', async () => {
    const res = await platform.request({ method: 'POST', url: '/api/whatsapp/admin/users', headers: admin, payload: { username: 'someone' } });
    assert.equal(res.statusCode, 400);
    assert.ok(res.json().details.some((d: { field: string }) => d.field === 'body.password'));
  });

  test('path parameters are validated too', async () => {
    const res = await platform.request({ method: 'GET', url: '/api/whatsapp/admin/users/abc', headers: admin });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().details[0].field, 'params.id');
  });

  test('malformed JSON is 400 in the same envelope', async () => {
    const res = await platform.request({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"username":' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().success, false);
  });

  test('a body over BODY_LIMIT is 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await platform.request({ method: 'POST', url: '/api/auth/login', payload: { username: 'a', password: 'x'.repeat(4000) } });
    assert.equal(res.statusCode, 413);
    assert.deepEqual(res.json(), {
      success: false,
      error: 'Request body is too large',
      message: 'The request body is larger than this route accepts (2048 bytes)',
      code: 'PAYLOAD_TOO_LARGE',
    });
  });

  test('an unknown route is 404 in the envelope', async () => {
    const res = await platform.request({ method: 'GET', url: '/api/nothing-here', headers: admin });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'NOT_FOUND');
  });

  test('an unknown user id is 404 USER_NOT_FOUND', async () => {
    const res = await platform.request({ method: 'GET', url: '/api/whatsapp/admin/users/987654', headers: admin });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'USER_NOT_FOUND');
  });

  test('a second user with the same name is 409 USER_ALREADY_EXISTS', async () => {
    const res = await platform.request({ method: 'POST', url: '/api/whatsapp/admin/users', headers: admin, payload: { username: ADMIN.username, password: 'long-enough' } });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().code, 'USER_ALREADY_EXISTS');
  });

  test('users are listed a page at a time', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) await createUser(platform, name);
    const seen: string[] = [];
    let cursor: number | null = 0;
    while (cursor !== null) {
      const res = await platform.request({ method: 'GET', url: `/api/whatsapp/admin/users?limit=2&cursor=${cursor}`, headers: admin });
      const { items, nextCursor } = res.json().data;
      assert.ok(items.length <= 2);
      seen.push(...items.map((u: { username: string }) => u.username));
      cursor = nextCursor;
    }
    assert.deepEqual(seen.filter((n) => n.startsWith('page-')), ['page-a', 'page-b', 'page-c']);
    assert.equal(new Set(seen).size, seen.length);
  });
});

describe('rate limits', () => {
  test('each caller has its own budget; past it, 429 RATE_LIMIT_EXCEEDED with the seed headers', async () => {
    const user = await createUser(platform, 'limited');
    const call = (headers: Record<string, string>) => platform.request({ method: 'GET', url: '/api/auth/api-tokens', headers });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await call(bearer(user.token)));
    assert.deepEqual(answers.map((r) => r.statusCode), [200, 200, 200, 429]);
    assert.deepEqual(answers.slice(0, 3).map((r) => r.headers['x-ratelimit-remaining']), ['2', '1', '0']);
    const limited = answers[3]!;
    assert.equal(limited.headers['x-ratelimit-limit'], '3');
    const reset = Number(limited.headers['x-ratelimit-reset']);
    assert.ok(reset > Date.now() / 1000 && reset <= Date.now() / 1000 + 61, `reset is a Unix time within the window: ${reset}`);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    assert.equal(limited.json().code, 'RATE_LIMIT_EXCEEDED');
    assert.equal(limited.json().success, false);

    const other = await call({ 'x-api-token': API_TOKEN });
    assert.equal(other.statusCode, 200, 'another caller is not limited by the first one');
  });

  test('probes and docs are never limited', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await platform.request({ method: 'GET', url: '/health' })).statusCode, 200);
  });
});

describe('error bodies', () => {
  // Seed 003's clients read `{error, message}`, seed 004's `{success, error, code}`: every failure carries all of them.
  const assertErrorBody = (res: { statusCode: number; json(): any }, status: number, code: string) => {
    assert.equal(res.statusCode, status);
    const body = res.json();
    assert.equal(body.success, false);
    assert.equal(body.code, code);
    assert.equal(typeof body.error, 'string');
    assert.ok(body.error.length > 0);
    assert.equal(typeof body.message, 'string');
    assert.ok(body.message.length >= body.error.length, `a message at least as telling as the error: ${JSON.stringify(body)}`);
    return body;
  };

  test('400: the message names every field at fault', async () => {
    const res = await platform.request({ method: 'POST', url: '/api/whatsapp/admin/users', headers: admin, payload: { username: 'x y', password: 'short' } });
    const body = assertErrorBody(res, 400, 'VALIDATION_ERROR');
    assert.equal(body.error, 'Request validation failed');
    for (const { field, message } of body.details) assert.ok(body.message.includes(`${field} ${message}`), body.message);
    assert.match(body.message, /^Request validation failed: body\.username .+; body\.password /);
  });

  test('401 and 404 (a route, a resource) carry error, message and code', async () => {
    const unauthenticated = assertErrorBody(await platform.request({ method: 'GET', url: '/api/sessions' }), 401, 'UNAUTHORIZED');
    assert.match(unauthenticated.message, /Authorization: Bearer/);
    const noRoute = assertErrorBody(await platform.request({ method: 'GET', url: '/api/nothing-here?x=1', headers: admin }), 404, 'NOT_FOUND');
    assert.equal(noRoute.error, 'Route GET /api/nothing-here not found');
    assert.match(noRoute.message, /\/docs/);
    // A caller of its own: this file's standard budget is 3 a minute.
    const user = await createUser(platform, 'error-bodies');
    const noSession = assertErrorBody(await platform.request({ method: 'GET', url: '/api/sessions/987654', headers: bearer(user.token) }), 404, 'DEVICE_NOT_FOUND');
    assert.equal(noSession.message, "Device 987654 not found. It does not exist, or it is not yours: another user's resources answer as missing ones.");
  });

  test('429: the message says when to try again, as Retry-After does', async () => {
    const user = await createUser(platform, 'limited-message');
    let res;
    for (let i = 0; i < 4; i++) res = await platform.request({ method: 'GET', url: '/api/sessions', headers: bearer(user.token) });
    const body = assertErrorBody(res!, 429, 'RATE_LIMIT_EXCEEDED');
    assert.equal(body.message, `${body.error} (try again in ${res!.headers['retry-after']} s)`);
    assert.deepEqual(Object.keys(body.details).sort(), ['group', 'limit', 'resetAt']);
  });

  test('the OpenAPI error schema shows message', async () => {
    const doc = (await platform.request({ method: 'GET', url: '/docs/json' })).json();
    const schema = doc.paths['/api/sessions'].get.responses['401'].content['application/json'].schema;
    assert.deepEqual(schema.required, ['success', 'error', 'message', 'code']);
    assert.equal(schema.properties.message.type, 'string');
  });
});

describe('health, docs and the queue dashboard', () => {
  test('/health and /ready', async () => {
    assert.deepEqual((await platform.request({ method: 'GET', url: '/health' })).json(), { status: 'ok' });
    assert.deepEqual((await platform.request({ method: 'GET', url: '/ready' })).json(), { status: 'ready', postgres: 'ok', redis: 'ok', queues: 'redis' });
  });

  test('/docs serves Swagger UI and /docs/json an OpenAPI document of every route with its security', async () => {
    assert.equal((await platform.request({ method: 'GET', url: '/docs/' })).statusCode, 200);
    const doc = (await platform.request({ method: 'GET', url: '/docs/json' })).json();
    assert.equal(doc.openapi, '3.1.0');
    const login = doc.paths['/api/auth/login'].post;
    assert.deepEqual(login.security, []);
    assert.ok(login.requestBody && login.responses['200'] && login.responses['401']);
    assert.ok(doc.paths['/api/whatsapp/admin/users'].get.security.some((s: object) => 'adminToken' in s));
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/admin/queues')), 'the dashboard is not part of the API');
  });

  test('server stats answer real process figures; queue counts only for admins', async () => {
    const asAdmin = (await platform.request({ method: 'GET', url: '/api/whatsapp/server/stats', headers: admin })).json().data;
    assert.ok(asAdmin.memory > 10 && asAdmin.uptime >= 0 && asAdmin.cpu >= 0);
    assert.ok('maintenance' in asAdmin.queues);
    const user = await createUser(platform, 'stats-user');
    const asUser = (await platform.request({ method: 'GET', url: '/api/whatsapp/server/stats', headers: bearer(user.token) })).json().data;
    assert.equal(asUser.queues, undefined);
  });

  test('server stats count sessions, devices and messages: the caller\'s own, or everyone\'s for admins', async () => {
    const stats = async (headers: Record<string, string>) =>
      (await platform.request({ method: 'GET', url: '/api/whatsapp/server/stats', headers })).json().data;
    const before = await stats(admin);
    const user = await createUser(platform, 'stats-counted');
    const sql = sqlOf(platform.app.orm.em.fork());
    for (const [alias, status] of [['a', 'connected'], ['b', 'connected'], ['c', 'logged_out']]) {
      await sql(`insert into devices (user_id, alias, session_id, status, created_at) values (?, ?, ?, ?, now())`, [user.id, alias, `user_${user.id}_device_${alias}`, status]);
    }
    await sql(`insert into message_status (message_id, tenant_id, status, updated_at) values ('stats-m1', ?, 'sent', now())`, [user.id]);
    const mine = await stats(bearer(user.token));
    assert.deepEqual([mine.activeSessions, mine.totalDevices, mine.totalMessages], [2, 3, 1]);
    const all = await stats(admin);
    assert.deepEqual(
      [all.activeSessions - before.activeSessions, all.totalDevices - before.totalDevices, all.totalMessages - before.totalMessages],
      [2, 3, 1],
    );
  });

  test('/admin/queues asks a browser for Basic credentials and admits admins only', async () => {
    const anonymous = await platform.request({ method: 'GET', url: '/admin/queues' });
    assert.equal(anonymous.statusCode, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /^Basic /);
    const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    assert.equal((await platform.request({ method: 'GET', url: '/admin/queues', headers: basic(ADMIN.username, ADMIN.password) })).statusCode, 200);
    assert.equal((await platform.request({ method: 'GET', url: '/admin/queues', headers: basic(ADMIN.username, 'wrong') })).statusCode, 401);
    await createUser(platform, 'not-admin', 'not-admin-password');
    assert.equal((await platform.request({ method: 'GET', url: '/admin/queues', headers: basic('not-admin', 'not-admin-password') })).statusCode, 403);
    const api = await platform.request({ method: 'GET', url: '/admin/queues/api/queues', headers: admin });
    assert.equal(api.statusCode, 200);
    assert.ok(api.json().queues.some((q: { name: string }) => q.name === 'maintenance'));
  });
});
