import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bearer, loginAs, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// One credential, every transport: whatever a caller holds works in its own header, as `Authorization: Bearer`
// and as `?token=` where browsers need it. Tokens are told apart by lookup, so environment tokens that look like
// a JWT or a key still authenticate as what they are.

interface Credential {
  kind: string;
  value: string;
  header: string;
  via: string;
}

async function credentialsOf(platform: TestPlatform, env: { apiToken: string; adminToken: string }): Promise<Credential[]> {
  const created = await platform.request({
    method: 'POST',
    url: '/api/whatsapp/admin/users',
    headers: { 'x-admin-token': env.adminToken },
    payload: { username: 'carol', password: 'password-of-carol' },
  });
  assert.equal(created.statusCode, 201, created.body);
  const user = { token: await loginAs(platform, 'carol', 'password-of-carol') };
  const apiToken = await platform.request({ method: 'POST', url: '/api/auth/api-tokens', headers: bearer(user.token), payload: { name: 'ci' } });
  const device = await platform.request({
    method: 'POST',
    url: '/api/whatsapp/devices',
    headers: { 'x-api-token': env.apiToken },
    payload: { userId: 'carol', alias: 'phone' },
  });
  assert.equal(device.statusCode, 201, device.body);
  return [
    { kind: 'API_TOKEN', value: env.apiToken, header: 'x-api-token', via: 'api-token' },
    { kind: 'ADMIN_TOKEN', value: env.adminToken, header: 'x-admin-token', via: 'admin-token' },
    { kind: 'API token', value: apiToken.json().data.token, header: 'x-api-token', via: 'api-token' },
    { kind: 'JWT', value: user.token, header: 'authorization', via: 'jwt' },
    { kind: 'device key', value: device.json().device.apiKey, header: 'x-device-api-key', via: 'device-key' },
  ];
}

function suite(name: string, env: { apiToken: string; adminToken: string }) {
  describe(name, () => {
    let platform: TestPlatform;
    let base: string;
    let credentials: Credential[];
    before(async () => {
      platform = await startTestPlatform({ API_TOKEN: env.apiToken, ADMIN_TOKEN: env.adminToken });
      base = await platform.app.listen({ port: 0, host: '127.0.0.1' });
      credentials = await credentialsOf(platform, env);
    });
    after(() => platform.close());

    const verify = (headers: Record<string, string>) => platform.request({ method: 'GET', url: '/api/auth/verify', headers });

    test('each credential authenticates in its own header and as a Bearer token', async () => {
      for (const { kind, value, header, via } of credentials) {
        const own = await verify({ [header]: header === 'authorization' ? `Bearer ${value}` : value });
        assert.equal(own.statusCode, 200, `${kind} in ${header}: ${own.body}`);
        assert.equal(own.json().data.via, via, `${kind} in ${header}`);
        const asBearer = await verify(bearer(value));
        assert.equal(asBearer.statusCode, 200, `${kind} as Bearer: ${asBearer.body}`);
        assert.equal(asBearer.json().data.via, via, `${kind} as Bearer`);
      }
    });

    test('each user credential opens the SSE stream as ?token=', async () => {
      for (const { kind, value, via } of credentials) {
        const controller = new AbortController();
        const res = await fetch(`${base}/api/whatsapp/events/stream?token=${encodeURIComponent(value)}`, { signal: controller.signal });
        // Device keys act on one device and cannot follow a user's whole stream.
        assert.equal(res.status, via === 'device-key' ? 403 : 200, `${kind}: ${res.status}`);
        controller.abort();
      }
    });

    test('the env API_TOKEN is the admin: seed 004 admin routes and users by identifier', async () => {
      const users = await platform.request({ method: 'GET', url: '/api/whatsapp/admin/users', headers: bearer(env.apiToken) });
      assert.equal(users.statusCode, 200, users.body);
      const devices = await platform.request({ method: 'GET', url: '/api/whatsapp/users/carol/devices', headers: { 'x-api-token': env.apiToken } });
      assert.deepEqual(devices.json().data.map((d: { sessionId: string }) => d.sessionId), ['user_carol_device_phone']);
    });

    test('a wrong credential is refused as the header it came in names it', async () => {
      const cases: [Record<string, string>, string][] = [
        [{ 'x-api-token': `${env.apiToken}x` }, 'INVALID_API_TOKEN'],
        [bearer(`${env.apiToken}x`), 'INVALID_TOKEN'],
        [bearer('wa_AAAAAAAAAAAA_' + 'A'.repeat(43)), 'INVALID_TOKEN'],
        [{ 'x-device-api-key': 'dev_nothing' }, 'INVALID_TOKEN'],
        [{ 'x-admin-token': env.apiToken }, 'INVALID_ADMIN_TOKEN'],
        // A named header takes its own kind only.
        [{ 'x-api-token': credentials.find((c) => c.via === 'device-key')!.value }, 'INVALID_API_TOKEN'],
        [{ 'x-api-token': credentials.find((c) => c.via === 'jwt')!.value }, 'INVALID_API_TOKEN'],
        [{ 'x-device-api-key': env.apiToken }, 'INVALID_TOKEN'],
      ];
      for (const [headers, code] of cases) {
        const res = await verify(headers);
        assert.equal(res.statusCode, 401, JSON.stringify(headers));
        assert.equal(res.json().code, code, JSON.stringify(headers));
      }
      const sse = await fetch(`${base}/api/whatsapp/events/stream?token=nope`);
      assert.equal(sse.status, 401);
      assert.equal(((await sse.json()) as { code: string }).code, 'INVALID_TOKEN');
    });

    test('a device key is refused on routes for users, whatever carries it', async () => {
      const key = credentials.find((c) => c.via === 'device-key')!.value;
      for (const headers of [{ 'x-device-api-key': key }, bearer(key)]) {
        const res = await platform.request({ method: 'GET', url: '/api/whatsapp/users/carol/devices', headers });
        assert.equal(res.statusCode, 403, JSON.stringify(Object.keys(headers)));
      }
    });
  });
}

// Seed 004's own value, and environment tokens shaped like a key and like a JWT.
suite('plain environment tokens (seed 004: API_TOKEN=test123)', { apiToken: 'test123', adminToken: 'admin-secret-for-tests' });
suite('environment tokens that look like a key and a JWT', {
  apiToken: `wa_${'B'.repeat(12)}_${'C'.repeat(43)}`,
  adminToken: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl',
});
