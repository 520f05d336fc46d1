import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, ADMIN_TOKEN, API_TOKEN, bearer, createUser, loginAs, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

let platform: TestPlatform;
before(async () => {
  platform = await startTestPlatform({ JWT_TTL: '10m', LOGIN_TOKEN_TTL: '2m' });
});
after(() => platform.close());

const verify = (headers: Record<string, string>) => platform.request({ method: 'GET', url: '/api/auth/verify', headers });

describe('password login', () => {
  test('answers a token, its expiry and the user; the token authenticates', async () => {
    const res = await platform.request({ method: 'POST', url: '/api/auth/login', payload: ADMIN });
    assert.equal(res.statusCode, 200);
    const { data } = res.json();
    assert.equal(data.user.username, ADMIN.username);
    assert.equal(data.user.role, 'admin');
    assert.ok(data.expiresAt > Date.now() + 9 * 60_000 && data.expiresAt <= Date.now() + 10 * 60_000 + 1000);
    const check = await verify(bearer(data.token));
    assert.equal(check.statusCode, 200);
    assert.deepEqual(
      { ...check.json().data, expiresAt: undefined },
      { valid: true, userId: 'admin', id: data.user.id, username: 'admin', role: 'admin', isMaster: true, via: 'jwt', expiresAt: undefined },
    );
  });

  test('a wrong password or unknown user is 401 INVALID_CREDENTIALS', async () => {
    for (const payload of [{ ...ADMIN, password: 'wrong' }, { username: 'nobody', password: 'x' }]) {
      const res = await platform.request({ method: 'POST', url: '/api/auth/login', payload });
      assert.equal(res.statusCode, 401);
      assert.deepEqual(res.json(), { success: false, error: 'Invalid username or password', message: 'Invalid username or password', code: 'INVALID_CREDENTIALS' });
    }
  });

  test("the token is at the top level (seed 000's `{token}`) and under `data` (seed 002)", async () => {
    const body = (await platform.request({ method: 'POST', url: '/api/auth/login', payload: ADMIN })).json();
    assert.deepEqual(Object.keys(body).sort(), ['data', 'expiresAt', 'success', 'token', 'user']);
    assert.equal(body.token, body.data.token);
    assert.equal(body.expiresAt, body.data.expiresAt);
    assert.deepEqual(body.user, body.data.user);
    assert.equal((await verify(bearer(body.token))).statusCode, 200);
  });

  test("seed 003's POST /api/login answers {success, token, user}", async () => {
    const res = await platform.request({ method: 'POST', url: '/api/login', payload: ADMIN });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['success', 'token', 'user']);
    assert.deepEqual(Object.keys(body.user).sort(), ['id', 'username']);
    assert.equal((await verify(bearer(body.token))).statusCode, 200);
  });
});

describe('session tokens', () => {
  test('no credential is 401 UNAUTHORIZED; a malformed one 401 INVALID_TOKEN', async () => {
    const none = await verify({});
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().code, 'UNAUTHORIZED');
    const token = await loginAs(platform, ADMIN.username, ADMIN.password);
    // A character in the middle of the signature: unlike the last one, it always changes the decoded bytes.
    const at = token.length - 10;
    const forged = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    for (const headers of [bearer('not-a-jwt'), { authorization: 'Token abc' }, bearer(forged)]) {
      const res = await verify(headers);
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().code, 'INVALID_TOKEN');
    }
  });

  test('logout revokes the token at once: reusing it is 401 INVALID_TOKEN', async () => {
    const token = await loginAs(platform, ADMIN.username, ADMIN.password);
    const out = await platform.request({ method: 'POST', url: '/api/auth/logout', headers: bearer(token) });
    assert.equal(out.statusCode, 200);
    assert.deepEqual(out.json(), { success: true });
    const reuse = await verify(bearer(token));
    assert.equal(reuse.statusCode, 401);
    assert.equal(reuse.json().code, 'INVALID_TOKEN');
  });

  test('refresh gives a new working token and retires the old one', async () => {
    const token = await loginAs(platform, ADMIN.username, ADMIN.password);
    platform.advance(1000);
    const res = await platform.request({ method: 'POST', url: '/api/auth/refresh', headers: bearer(token) });
    assert.equal(res.statusCode, 200);
    const fresh = res.json().data;
    assert.notEqual(fresh.token, token);
    assert.equal((await verify(bearer(fresh.token))).statusCode, 200);
    assert.equal((await verify(bearer(token))).json().code, 'INVALID_TOKEN');
    const again = await platform.request({ method: 'POST', url: '/api/auth/refresh', headers: bearer(token) });
    assert.equal(again.statusCode, 401);
  });

  test('past its TTL a token is 401 TOKEN_EXPIRED', async () => {
    const token = await loginAs(platform, ADMIN.username, ADMIN.password);
    assert.equal((await verify(bearer(token))).statusCode, 200);
    platform.advance(10 * 60_000 + 1000);
    const res = await verify(bearer(token));
    assert.equal(res.statusCode, 401);
    assert.deepEqual(res.json(), {
      success: false,
      error: 'Token has expired',
      message: 'Token has expired. Log in again (POST /api/auth/login), or refresh a token before it expires (POST /api/auth/refresh).',
      code: 'TOKEN_EXPIRED',
    });
  });
});

describe('one-time login tokens', () => {
  const issue = async (userId: number, body?: object) => {
    const res = await platform.request({
      method: 'POST',
      url: `/api/whatsapp/admin/users/${userId}/login-tokens`,
      headers: { 'x-admin-token': ADMIN_TOKEN },
      ...(body ? { payload: body } : {}),
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().data.token as string;
  };
  const exchange = (token: string) => platform.request({ method: 'POST', url: '/api/auth/login', payload: { token } });

  test('is exchanged once for a session of its user', async () => {
    const user = await createUser(platform, 'otp-user');
    const oneTime = await issue(user.id);
    const first = await exchange(oneTime);
    assert.equal(first.statusCode, 200);
    assert.equal(first.json().data.user.username, 'otp-user');
    assert.equal(first.json().token, first.json().data.token, 'a one-time token login answers both shapes too');
    assert.equal((await verify(bearer(first.json().data.token))).json().data.id, user.id);
    const second = await exchange(oneTime);
    assert.equal(second.statusCode, 401);
    assert.equal(second.json().code, 'INVALID_TOKEN');
  });

  test('concurrent exchanges of one token: exactly one wins', async () => {
    const user = await createUser(platform, 'otp-race');
    const oneTime = await issue(user.id);
    const results = await Promise.all(Array.from({ length: 5 }, () => exchange(oneTime)));
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 401, 401, 401, 401]);
  });

  test('expires after its short lifetime', async () => {
    const user = await createUser(platform, 'otp-late');
    const oneTime = await issue(user.id, { ttlSeconds: 30 });
    platform.advance(31_000);
    const res = await exchange(oneTime);
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'INVALID_TOKEN');
  });

  test('only administrators issue them', async () => {
    const user = await createUser(platform, 'otp-nonadmin');
    const res = await platform.request({ method: 'POST', url: `/api/whatsapp/admin/users/${user.id}/login-tokens`, headers: bearer(user.token) });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().code, 'FORBIDDEN');
  });
});

describe('API tokens', () => {
  test('API_TOKEN from the environment authenticates as the admin', async () => {
    const res = await verify({ 'x-api-token': API_TOKEN });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().data.username, ADMIN.username);
    assert.equal(res.json().data.via, 'api-token');
  });

  test('created, listed without the secret, used, revoked: then 401 INVALID_API_TOKEN', async () => {
    const user = await createUser(platform, 'token-owner');
    const created = await platform.request({ method: 'POST', url: '/api/auth/api-tokens', headers: bearer(user.token), payload: { name: 'ci' } });
    assert.equal(created.statusCode, 201);
    const { id, token } = created.json().data;
    assert.match(token, /^wa_/);

    const list = await platform.request({ method: 'GET', url: '/api/auth/api-tokens', headers: bearer(user.token) });
    assert.deepEqual(list.json().data.map((t: { id: number }) => t.id), [id]);
    // The secret is the 43 characters after `wa_<publicId>_` (it may itself hold `_`).
    assert.ok(!list.body.includes(token.slice(-43)), 'the secret is never shown again');

    const used = await verify({ 'x-api-token': token });
    assert.equal(used.statusCode, 200);
    assert.equal(used.json().data.id, user.id);
    assert.equal((await verify(bearer(token))).json().data.via, 'api-token', 'also accepted as a Bearer token');

    const revoked = await platform.request({ method: 'DELETE', url: `/api/auth/api-tokens/${id}`, headers: bearer(user.token) });
    assert.equal(revoked.statusCode, 200);
    const after = await verify({ 'x-api-token': token });
    assert.equal(after.statusCode, 401);
    assert.equal(after.json().code, 'INVALID_API_TOKEN');
  });

  test('an unknown or tampered token is 401 INVALID_API_TOKEN', async () => {
    for (const token of ['nope', 'wa_AAAAAAAAAAAA_' + 'A'.repeat(43), `${API_TOKEN}x`]) {
      const res = await verify({ 'x-api-token': token });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().code, 'INVALID_API_TOKEN');
    }
  });

  test('disabling a user stops its tokens at once', async () => {
    const user = await createUser(platform, 'to-disable');
    const res = await platform.request({
      method: 'PATCH',
      url: `/api/whatsapp/admin/users/${user.id}`,
      headers: { 'x-admin-token': ADMIN_TOKEN },
      payload: { disabled: true },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().data.disabled, true);
    assert.equal((await verify(bearer(user.token))).statusCode, 401);
    const login = await platform.request({ method: 'POST', url: '/api/auth/login', payload: { username: 'to-disable', password: 'password-of-a-user' } });
    assert.equal(login.statusCode, 401);
  });
});

describe('admin credentials', () => {
  const listUsers = (headers: Record<string, string>) => platform.request({ method: 'GET', url: '/api/whatsapp/admin/users', headers });

  test('X-Admin-Token opens admin routes', async () => {
    const res = await listUsers({ 'x-admin-token': ADMIN_TOKEN });
    assert.equal(res.statusCode, 200);
    assert.ok(res.json().data.items.some((u: { username: string }) => u.username === ADMIN.username));
  });

  test('so does an admin user\'s own token', async () => {
    assert.equal((await listUsers(bearer(await loginAs(platform, ADMIN.username, ADMIN.password)))).statusCode, 200);
    assert.equal((await listUsers({ 'x-api-token': API_TOKEN })).statusCode, 200);
  });

  test('a wrong admin token is 401 INVALID_ADMIN_TOKEN, even beside a valid API token', async () => {
    const res = await listUsers({ 'x-admin-token': 'wrong', 'x-api-token': API_TOKEN });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'INVALID_ADMIN_TOKEN');
  });

  test("a non-admin's token is 403 FORBIDDEN on admin routes", async () => {
    const user = await createUser(platform, 'plain-user');
    const res = await listUsers(bearer(user.token));
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().code, 'FORBIDDEN');
  });
});
