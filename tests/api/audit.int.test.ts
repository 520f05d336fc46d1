import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AUDIT_ACTIONS } from '../../src/domain/audit.ts';
import { sqlOf } from '../../src/events/event-store.ts';
import { ADMIN, ADMIN_TOKEN, bearer, createUser, loginAs, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// The audit trail: each security-relevant action recorded once, with who did it and through which credential,
// listed to administrators with filters and keyset pages.
let platform: TestPlatform;
let adminJwt: string;
const admin = { 'x-admin-token': ADMIN_TOKEN };

interface Entry {
  id: number;
  action: string;
  stream: string;
  data: Record<string, unknown>;
  actor: { userId: number; username: string; via: string } | null;
  ip: string | null;
  requestId: string | null;
}

before(async () => {
  platform = await startTestPlatform({ ALLOW_PRIVATE_WEBHOOKS: 'true' });
  adminJwt = await loginAs(platform, ADMIN.username, ADMIN.password);
});
after(() => platform?.close());

async function audit(query = ''): Promise<{ items: Entry[]; nextCursor: number | null }> {
  const res = await platform.request({ method: 'GET', url: `/api/whatsapp/admin/audit${query}`, headers: bearer(adminJwt) });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().data;
}

async function call(method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, headers: Record<string, string>, payload?: object) {
  const res = await platform.request({ method, url, headers, ...(payload ? { payload } : {}) });
  assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}

test('each action appears once, with its actor, credential kind, address and request id', async () => {
  const created = await call('POST', '/api/whatsapp/admin/users', admin, { username: 'mallory', password: 'mallory-password-1' });
  const userId = created.data.id as number;
  await call('POST', '/api/whatsapp/admin/users', admin, { username: 'trent', password: 'trent-password-12' });
  const jwt = await loginAs(platform, 'mallory', 'mallory-password-1');
  assert.equal((await platform.request({ method: 'POST', url: '/api/auth/login', payload: { username: 'mallory', password: 'nope-nope' } })).statusCode, 401);
  const refreshed = (await call('POST', '/api/auth/refresh', bearer(jwt))).data.token as string;
  const token = (await call('POST', '/api/auth/api-tokens', bearer(refreshed), { name: 'ci' })).data;
  await call('DELETE', `/api/auth/api-tokens/${token.id}`, bearer(refreshed));
  const device = (await call('POST', '/api/whatsapp/devices', bearer(refreshed), { alias: 'phone' })).data;
  const hook = (await call('POST', '/api/whatsapp/webhooks', bearer(refreshed), { url: 'http://127.0.0.1:9/hook?token=receivers-own-token' })).data;
  await call('PUT', `/api/whatsapp/webhooks/${hook.id}`, bearer(refreshed), { description: 'mine' });
  await call('POST', `/api/whatsapp/webhooks/${hook.id}/rotate-secret`, bearer(refreshed));
  await call('DELETE', `/api/whatsapp/webhooks/${hook.id}`, bearer(refreshed));
  assert.equal((await platform.request({ method: 'GET', url: `/api/whatsapp/webhooks/${hook.id}`, headers: bearer(refreshed) })).statusCode, 404);
  await call('PATCH', `/api/whatsapp/admin/users/${userId}`, bearer(adminJwt), { role: 'admin' });
  await call('PATCH', `/api/whatsapp/admin/users/${userId}`, bearer(adminJwt), { password: 'mallory-password-2', phoneNumber: '+6281200000001' });
  await call('PATCH', `/api/whatsapp/admin/users/${userId}`, bearer(adminJwt), { disabled: true });
  await call('PATCH', `/api/whatsapp/admin/users/${userId}`, bearer(adminJwt), { disabled: false, role: 'admin' });
  const loginToken = (await call('POST', `/api/whatsapp/admin/users/${userId}/login-tokens`, bearer(adminJwt))).data.token;
  const viaToken = (await call('POST', '/api/auth/login', {}, { token: loginToken })).data.token as string;
  const logout = await platform.request({ method: 'POST', url: '/api/auth/logout', headers: bearer(viaToken) });
  assert.equal(logout.statusCode, 200);

  const { items } = await audit('?limit=200');
  const about = (action: string, stream: string) => items.filter((e) => e.action === action && e.stream === stream);
  const only = (action: string, stream: string) => {
    const found = about(action, stream);
    assert.equal(found.length, 1, `${action} on ${stream}: ${JSON.stringify(found)}`);
    return found[0]!;
  };
  const mallory = 'account-mallory';
  const hookStream = `webhook-endpoint-${hook.id}`;
  const actorOf = (e: Entry) => [e.actor?.username, e.actor?.via];

  assert.deepEqual(actorOf(only('user.created', mallory)), ['admin', 'admin-token']);
  assert.deepEqual(only('user.created', mallory).data, { userId, username: 'mallory', role: 'user' });
  // ADMIN_TOKEN's use: once for the whole minute, however often it was sent.
  assert.equal(items.filter((e) => e.action === 'auth.admin-token-used').length, 1);
  assert.deepEqual(actorOf(only('auth.admin-token-used', 'account-admin')), ['admin', 'admin-token']);

  assert.deepEqual(
    about('auth.logged-in', mallory).map((e) => [e.data.method, ...actorOf(e)]),
    [['login-token', 'mallory', 'login-token'], ['password', 'mallory', 'password']],
  );
  assert.equal(only('auth.login-failed', mallory).actor, null);
  assert.deepEqual(actorOf(only('auth.login-token-issued', mallory)), ['admin', 'jwt']);
  assert.equal(only('auth.login-failed', mallory).data.reason, 'wrong-password');
  assert.deepEqual(actorOf(only('auth.session-refreshed', mallory)), ['mallory', 'jwt']);
  assert.deepEqual(only('auth.api-token-created', mallory).data, { userId, keyId: token.id, name: 'ci' });
  assert.deepEqual(actorOf(only('auth.api-token-revoked', mallory)), ['mallory', 'jwt']);
  assert.equal(only('auth.device-key-created', mallory).data.deviceId, device.id);
  assert.deepEqual(actorOf(only('webhook.endpoint-created', hookStream)), ['mallory', 'jwt']);
  // The receiver's URL is not copied into the trail (it may carry the receiver's token): its host is.
  assert.equal(only('webhook.endpoint-created', hookStream).data.host, '127.0.0.1:9');
  assert.deepEqual(only('webhook.endpoint-updated', hookStream).data.fields, ['description']);
  only('webhook.secret-rotated', hookStream);
  only('webhook.endpoint-deleted', hookStream);
  // A role set to what it already is changes nothing and records nothing.
  assert.deepEqual(only('user.role-changed', mallory).data, { userId, username: 'mallory', from: 'user', to: 'admin' });
  assert.deepEqual(actorOf(only('user.password-set', mallory)), ['admin', 'jwt']);
  assert.equal(only('user.phone-number-changed', mallory).data.phoneNumber, '+6281200000001');
  only('user.disabled', mallory);
  only('user.enabled', mallory);
  assert.deepEqual(actorOf(only('auth.logged-out', mallory)), ['mallory', 'jwt']);

  for (const entry of items) {
    assert.equal(entry.ip, '127.0.0.1');
    assert.match(String(entry.requestId), /^[0-9a-f-]{36}$/);
  }
  const text = JSON.stringify(items);
  for (const secret of ['mallory-password-1', 'mallory-password-2', 'receivers-own-token', token.token, loginToken, jwt, device.apiKey, hook.secret]) {
    assert.ok(secret && !text.includes(secret), `the trail holds a secret: ${secret}`);
  }
});

test('the list filters by action, actor and time, and pages by cursor', async () => {
  const all = (await audit('?limit=200')).items;
  assert.ok(all.length > 10);
  // Newest first.
  assert.deepEqual(all.map((e) => e.id), [...all.map((e) => e.id)].sort((a, b) => b - a));

  const roles = (await audit('?action=user.role-changed')).items;
  assert.deepEqual(roles.map((e) => e.action), ['user.role-changed']);
  const byMallory = (await audit('?actor=mallory&limit=200')).items;
  assert.ok(byMallory.length > 0 && byMallory.every((e) => e.actor?.username === 'mallory'));
  assert.deepEqual(byMallory, all.filter((e) => e.actor?.username === 'mallory'));
  assert.deepEqual((await audit(`?since=${new Date(Date.now() + 3_600_000).toISOString()}`)).items, []);
  assert.equal((await audit(`?since=${new Date(Date.now() - 3_600_000).toISOString()}&limit=200`)).items.length, all.length);

  const paged: Entry[] = [];
  let cursor: number | null = null;
  do {
    const page: { items: Entry[]; nextCursor: number | null } = await audit(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    assert.ok(page.items.length <= 3);
    paged.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  assert.deepEqual(paged, all);
});

test('only administrators read the trail; bad filters are refused with the field named', async () => {
  const user = await createUser(platform, 'peggy', 'peggy-password-12');
  const refused = await platform.request({ method: 'GET', url: '/api/whatsapp/admin/audit', headers: bearer(user.token) });
  assert.equal(refused.statusCode, 403);
  assert.equal(refused.json().code, 'FORBIDDEN');
  assert.equal((await platform.request({ method: 'GET', url: '/api/whatsapp/admin/audit' })).statusCode, 401);
  for (const query of ['action=message.sent', 'since=yesterday', 'cursor=0', 'limit=500', 'actor=']) {
    const res = await platform.request({ method: 'GET', url: `/api/whatsapp/admin/audit?${query}`, headers: bearer(adminJwt) });
    assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
    assert.equal(res.json().details[0].field.split('.')[0], 'querystring', query);
  }
});

test('the OpenAPI document lists the audit route for administrators', async () => {
  const doc = (await platform.request({ method: 'GET', url: '/docs/json' })).json();
  const route = doc.paths['/api/whatsapp/admin/audit'].get;
  assert.ok(route.parameters.some((p: { name: string }) => p.name === 'action'));
  assert.ok(route.responses['403']);
});

test('the partial index over the trail covers every audited action (a new one needs a migration)', async () => {
  const [row] = await sqlOf(platform.app.orm.em.fork() as EntityManager)(`select indexdef from pg_indexes where indexname = 'events_audit_index'`);
  for (const action of AUDIT_ACTIONS) assert.ok(String(row?.indexdef).includes(`'${action}'`), `${action} is outside events_audit_index`);
});
