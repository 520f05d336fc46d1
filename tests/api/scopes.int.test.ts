import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import authPlugin from '../../src/api/plugins/auth.ts';
import { appendToStream, sqlOf } from '../../src/events/event-store.ts';
import { ADMIN, API_TOKEN, bearer, createUser, loginAs, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// Issue 11 item 6: API tokens carry scopes and may be bound to devices; every route declares its scope.
let platform: TestPlatform;
let alice: { id: number; username: string; token: string };
let bob: { id: number; username: string; token: string };
let adminJwt: string;
const devices = { a1: 0, a2: 0, b1: 0 };

const insertDevice = async (userId: number, username: string, alias: string) => {
  const [row] = await sqlOf(platform.app.orm.em.fork())(
    `insert into devices (user_id, alias, session_id, desired_state, created_at) values (?, ?, ?, 'stopped', now()) returning id`,
    [userId, alias, `user_${username}_device_${alias}`],
  );
  return Number(row!.id);
};

before(async () => {
  platform = await startTestPlatform({ ALLOW_PRIVATE_WEBHOOKS: 'true' });
  alice = await createUser(platform, 'alice');
  bob = await createUser(platform, 'bob');
  adminJwt = await loginAs(platform, ADMIN.username, ADMIN.password);
  devices.a1 = await insertDevice(alice.id, 'alice', 'one');
  devices.a2 = await insertDevice(alice.id, 'alice', 'two');
  devices.b1 = await insertDevice(bob.id, 'bob', 'one');
});
after(() => platform.close());

const createToken = async (ownerJwt: string, payload: Record<string, unknown>, headers: Record<string, string> = bearer(ownerJwt)) =>
  platform.request({ method: 'POST', url: '/api/auth/api-tokens', headers, payload: { name: 'test', ...payload } });

const tokenWith = async (ownerJwt: string, payload: Record<string, unknown>) => {
  const res = await createToken(ownerJwt, payload);
  assert.equal(res.statusCode, 201, res.body);
  return res.json().data as { id: number; token: string; scopes: string[] | null; deviceIds: number[] | null };
};

const call = (token: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: Record<string, unknown>) =>
  platform.request({ method, url, headers: { 'x-api-token': token }, ...(payload ? { payload } : {}) });

// One route of each scope, answered (not refused) when the scope is held.
const probes = () => ({
  read: { method: 'GET', url: `/api/whatsapp/devices/${devices.a1}`, ok: 200 },
  send: { method: 'DELETE', url: '/api/whatsapp/messages/msg-none', ok: 404 },
  devices: { method: 'PUT', url: `/api/whatsapp/devices/${devices.a1}`, payload: { metadata: { note: 'renamed' } }, ok: 200 },
  webhooks: { method: 'GET', url: '/api/whatsapp/webhooks', ok: 200 },
  account: { method: 'GET', url: '/api/auth/api-tokens', ok: 200 },
}) as const;

describe('scopes', () => {
  test('each scope allows its routes and refuses the others with 403 naming the scope', async () => {
    const all = probes();
    for (const granted of Object.keys(all) as (keyof typeof all)[]) {
      const { token } = await tokenWith(alice.token, { scopes: [granted] });
      for (const [scope, probe] of Object.entries(all)) {
        const res = await call(token, probe.method, probe.url, 'payload' in probe ? probe.payload : undefined);
        if (scope === granted) {
          assert.equal(res.statusCode, probe.ok, `${granted} on ${probe.method} ${probe.url}: ${res.body}`);
        } else {
          assert.equal(res.statusCode, 403, `${granted} token on ${probe.method} ${probe.url}: ${res.body}`);
          assert.equal(res.json().code, 'FORBIDDEN');
          assert.match(res.json().message, new RegExp(`"${scope}" scope`));
        }
      }
      // A route that only says who you are needs no scope.
      assert.equal((await call(token, 'GET', '/api/auth/verify')).statusCode, 200);
    }
  });

  test('a refused call changes nothing', async () => {
    const { token } = await tokenWith(alice.token, { scopes: ['read'] });
    const res = await call(token, 'PUT', `/api/whatsapp/devices/${devices.a2}`, { metadata: { note: 'not-allowed' } });
    assert.equal(res.statusCode, 403);
    const shown = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${devices.a2}`, headers: bearer(alice.token) });
    assert.doesNotMatch(JSON.stringify(shown.json().data), /not-allowed/);
  });

  test('the admin scope is for administrators, and an admin token without it is refused admin routes', async () => {
    const full = await tokenWith(adminJwt, { scopes: ['admin'] });
    assert.equal((await call(full.token, 'GET', '/api/whatsapp/admin/users')).statusCode, 200);
    const reader = await tokenWith(adminJwt, { scopes: ['read'] });
    const refused = await call(reader.token, 'GET', '/api/whatsapp/admin/users');
    assert.equal(refused.statusCode, 403);
    assert.match(refused.json().message, /"admin" scope/);
    const granted = await createToken(alice.token, { scopes: ['admin'] });
    assert.equal(granted.statusCode, 403, 'a user cannot grant what their role lacks');
    assert.match(granted.json().message, /"admin"/);
  });

  test('existing tokens without scopes, JWTs and the environment API_TOKEN hold every scope of their user', async () => {
    const legacy = await tokenWith(alice.token, {});
    assert.equal(legacy.scopes, null);
    assert.equal(legacy.deviceIds, null);
    for (const token of [legacy.token]) {
      for (const probe of Object.values(probes())) {
        const res = await call(token, probe.method, probe.url, 'payload' in probe ? probe.payload : undefined);
        assert.equal(res.statusCode, probe.ok, `${probe.method} ${probe.url}: ${res.body}`);
      }
      assert.equal((await call(token, 'GET', '/api/whatsapp/admin/users')).statusCode, 403, 'still no admin routes for a user');
    }
    assert.equal((await call(API_TOKEN, 'GET', '/api/whatsapp/admin/users')).statusCode, 200);
    assert.equal((await call(API_TOKEN, 'GET', `/api/whatsapp/devices/${devices.b1}`)).statusCode, 200);
    const jwt = await platform.request({ method: 'GET', url: '/api/whatsapp/webhooks', headers: bearer(alice.token) });
    assert.equal(jwt.statusCode, 200);
  });
});

describe('token creation', () => {
  const tokenCount = async () =>
    (await platform.request({ method: 'GET', url: '/api/auth/api-tokens', headers: bearer(alice.token) })).json().data.length as number;

  test('an unknown scope is 400 and creates nothing', async () => {
    const before = await tokenCount();
    const res = await createToken(alice.token, { scopes: ['read', 'everything'] });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().code, 'VALIDATION_ERROR');
    assert.equal(await tokenCount(), before);
  });

  test("binding to another user's device is 404 exactly like a missing device, and creates nothing", async () => {
    const before = await tokenCount();
    const foreign = await createToken(alice.token, { deviceIds: [devices.b1] });
    const missing = await createToken(alice.token, { deviceIds: [999_999] });
    assert.equal(foreign.statusCode, 404);
    assert.equal(missing.statusCode, 404);
    assert.equal(foreign.json().code, missing.json().code);
    assert.equal(foreign.json().message.replace(String(devices.b1), 'N'), missing.json().message.replace('999999', 'N'));
    assert.equal(await tokenCount(), before);
  });

  test('a scoped or bound token cannot mint a stronger one; what it creates inherits its limits', async () => {
    const creator = await tokenWith(alice.token, { scopes: ['read', 'account'], deviceIds: [devices.a1] });
    const stronger = await createToken(alice.token, { scopes: ['send'] }, { 'x-api-token': creator.token });
    assert.equal(stronger.statusCode, 403);
    assert.match(stronger.json().message, /"send"/);
    const wider = await createToken(alice.token, { deviceIds: [devices.a2] }, { 'x-api-token': creator.token });
    assert.equal(wider.statusCode, 404, 'a device outside its binding is missing to it');
    const child = await createToken(alice.token, {}, { 'x-api-token': creator.token });
    assert.equal(child.statusCode, 201, child.body);
    assert.deepEqual(child.json().data.scopes, ['read', 'account']);
    assert.deepEqual(child.json().data.deviceIds, [devices.a1]);
  });
});

describe('device binding', () => {
  let bound: string;
  before(async () => {
    bound = (await tokenWith(alice.token, { deviceIds: [devices.a1] })).token;
  });

  const sameAnswer = (hidden: { statusCode: number; json(): { code: string; message: string } }, missing: typeof hidden, hiddenId: string, missingId: string) => {
    assert.equal(hidden.statusCode, 404);
    assert.equal(missing.statusCode, 404);
    assert.equal(hidden.json().code, missing.json().code);
    assert.equal(hidden.json().message.replace(hiddenId, 'N'), missing.json().message.replace(missingId, 'N'));
  };

  test('another of the owner’s devices answers exactly as a missing one', async () => {
    assert.equal((await call(bound, 'GET', `/api/whatsapp/devices/${devices.a1}`)).statusCode, 200);
    sameAnswer(await call(bound, 'GET', `/api/whatsapp/devices/${devices.a2}`), await call(bound, 'GET', '/api/whatsapp/devices/999999'), String(devices.a2), '999999');
    sameAnswer(await call(bound, 'GET', `/api/sessions/${devices.a2}`), await call(bound, 'GET', '/api/sessions/999999'), String(devices.a2), '999999');
  });

  test('lists hold only the bound devices', async () => {
    const listed = (await call(bound, 'GET', '/api/whatsapp/users/alice/devices')).json().data.map((d: { id: number }) => d.id);
    assert.deepEqual(listed, [devices.a1]);
    const sessions = (await call(bound, 'GET', '/api/sessions')).json().map((s: { id: number | string }) => Number(s.id));
    assert.deepEqual(sessions, [devices.a1]);
    const full = (await platform.request({ method: 'GET', url: '/api/whatsapp/users/alice/devices', headers: bearer(alice.token) })).json().data;
    assert.equal(full.length, 2, 'the owner still sees both');
  });

  test("messages, message logs, stats and campaigns of another device are missing to it", async () => {
    const sql = sqlOf(platform.app.orm.em.fork());
    for (const [id, device] of [['msg-a1', devices.a1], ['msg-a2', devices.a2]] as const) {
      await sql(`insert into message_status (message_id, tenant_id, device_id, status, updated_at, created_at) values (?, ?, ?, 'sent', now(), now())`, [id, alice.id, device]);
    }
    await sql(`insert into message_stats_daily (tenant_id, device_id, day, sent) values (?, ?, '2026-01-01', 3), (?, ?, '2026-01-01', 5)`, [alice.id, devices.a1, alice.id, devices.a2]);
    await sql(`insert into campaigns (id, tenant_id, device_id, total, accepted, created_at) values ('camp-a2', ?, ?, 1, 1, now())`, [alice.id, devices.a2]);

    assert.equal((await call(bound, 'GET', '/api/whatsapp/messages/msg-a1/status')).statusCode, 200);
    sameAnswer(await call(bound, 'GET', '/api/whatsapp/messages/msg-a2/status'), await call(bound, 'GET', '/api/whatsapp/messages/msg-none/status'), 'msg-a2', 'msg-none');
    sameAnswer(await call(bound, 'GET', '/api/whatsapp/campaigns/camp-a2'), await call(bound, 'GET', '/api/whatsapp/campaigns/camp-none'), 'camp-a2', 'camp-none');
    const logs = (await call(bound, 'GET', '/api/whatsapp/users/alice/message-logs')).json();
    assert.deepEqual(JSON.stringify(logs).match(/msg-a\d/g), ['msg-a1']);
    const other = (await call(bound, 'GET', `/api/whatsapp/users/alice/message-logs?deviceId=${devices.a2}`)).json();
    assert.doesNotMatch(JSON.stringify(other), /msg-a2/);
    assert.equal((await call(bound, 'GET', '/api/whatsapp/users/alice/sending-stats')).json().data.totalSent, 3);
    const owner = await platform.request({ method: 'GET', url: '/api/whatsapp/users/alice/sending-stats', headers: bearer(alice.token) });
    assert.equal(owner.json().data.totalSent, 8);
  });

  test('webhooks of other devices and user-wide ones are missing to it; it adds only device webhooks', async () => {
    const add = (headers: Record<string, string>, deviceId?: number) =>
      platform.request({
        method: 'POST',
        url: '/api/whatsapp/webhooks',
        headers,
        payload: { url: 'http://127.0.0.1:9/hook', ...(deviceId ? { deviceId } : {}) },
      });
    const userWide = (await add(bearer(alice.token))).json().data.id as string;
    const ofA2 = (await add(bearer(alice.token), devices.a2)).json().data.id as string;
    const ofA1 = await add({ 'x-api-token': bound }, devices.a1);
    assert.equal(ofA1.statusCode, 201, ofA1.body);
    const listed = (await call(bound, 'GET', '/api/whatsapp/webhooks')).json().data.map((w: { id: string }) => w.id);
    assert.deepEqual(listed, [ofA1.json().data.id]);
    for (const id of [userWide, ofA2]) {
      sameAnswer(await call(bound, 'GET', `/api/whatsapp/webhooks/${id}`), await call(bound, 'GET', '/api/whatsapp/webhooks/whe_000000000000000000000000'), id, 'whe_000000000000000000000000');
    }
    const wide = await add({ 'x-api-token': bound });
    assert.equal(wide.statusCode, 400, wide.body);
    assert.equal((await add({ 'x-api-token': bound }, devices.a2)).statusCode, 404);
  });

  test('the event feed holds only the bound devices’ events', async () => {
    for (const device of [devices.a1, devices.a2]) {
      await appendToStream(platform.app.orm.em.fork(), `device-${device}`, [{ event: { type: 'device.disconnected', data: { reason: 'scope test' } } }], {
        expectedVersion: 'any',
        metadata: { tenantId: alice.id, deviceId: device, sessionId: `user_alice_device_${device === devices.a1 ? 'one' : 'two'}` },
      });
    }
    const seen = async (headers: Record<string, string>, query = '') =>
      new Set((await platform.request({ method: 'GET', url: `/api/whatsapp/events?limit=1000${query}`, headers })).json().data.items.map((e: { deviceId: number }) => e.deviceId));
    // The feed shows a transaction once no older one is still open (the worker's own may be): wait for the owner's view.
    const deadline = Date.now() + 10_000;
    while ((await seen(bearer(alice.token))).size < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(await seen(bearer(alice.token)), new Set([devices.a1, devices.a2]));
    assert.deepEqual(await seen({ 'x-api-token': bound }), new Set([devices.a1]));
    assert.deepEqual(await seen({ 'x-api-token': bound }, `&deviceId=${devices.a2}`), new Set());
  });

  test('an administrator’s bound token cannot make another of their devices the login bot', async () => {
    const admin = (await platform.request({ method: 'GET', url: '/api/auth/me', headers: bearer(adminJwt) })).json().data;
    const [own, other] = [await insertDevice(admin.id, admin.username, 'bot-one'), await insertDevice(admin.id, admin.username, 'bot-two')];
    const adminBound = (await tokenWith(adminJwt, { deviceIds: [own] })).token;
    const res = await call(adminBound, 'PUT', '/api/whatsapp/admin/login-bot', { deviceId: other });
    assert.equal(res.statusCode, 404, res.body);
    assert.equal(res.json().code, 'DEVICE_NOT_FOUND');
    const shown = await platform.request({ method: 'GET', url: '/api/whatsapp/admin/login-bot', headers: bearer(adminJwt) });
    assert.doesNotMatch(JSON.stringify(shown.json().data ?? null), new RegExp(`"deviceId":${other}\\b`));
  });

  test('it cannot create devices', async () => {
    const res = await call(bound, 'POST', '/api/whatsapp/devices', { alias: 'three' });
    assert.equal(res.statusCode, 403, res.body);
    const listed = (await platform.request({ method: 'GET', url: '/api/whatsapp/users/alice/devices', headers: bearer(alice.token) })).json().data;
    assert.equal(listed.length, 2);
  });
});

describe('route declarations', () => {
  test('the OpenAPI document shows each route’s scope', async () => {
    const doc = (await platform.request({ method: 'GET', url: '/docs/json' })).json();
    const send = doc.paths['/api/whatsapp/send'].post;
    assert.equal(send['x-scope'], 'send');
    assert.deepEqual(send.security.find((s: Record<string, string[]>) => 'apiToken' in s), { apiToken: ['send'] });
    assert.match(send.description, /Scope: `send`/);
    assert.equal(doc.paths['/api/auth/verify'].get['x-scope'], null);
    for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (operation.security?.length) assert.ok('x-scope' in operation, `${method} ${path} shows no scope`);
      }
    }
    assert.match(doc.info.description, /`webhooks`: /);
  });

  test('an authenticated route without a declared scope stops the start', async () => {
    const app = Fastify();
    await app.register(authPlugin);
    app.get('/unscoped', { config: { auth: 'user' } }, async () => 'open');
    app.get('/declared', { config: { auth: 'user', scope: 'read' } }, async () => 'fine');
    app.get('/open', { config: { auth: 'public' } }, async () => 'public');
    await assert.rejects(async () => void (await app.ready()), (err: Error) => /GET \/unscoped/.test(err.message) && !/\/declared|\/open/.test(err.message));
  });
});
