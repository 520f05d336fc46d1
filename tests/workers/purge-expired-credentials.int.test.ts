import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { purgeExpiredCredentials } from '../../src/workers/processors/purge-expired-credentials.ts';
import { ADMIN, ADMIN_TOKEN, bearer, loginAs, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

let platform: TestPlatform;
before(async () => {
  platform = await startTestPlatform({ JWT_TTL: '1h' });
});
after(() => platform.close());

const count = async (table: string) =>
  Number((await platform.app.orm.em.fork().getConnection().execute(`select count(*) as n from ${table}`))[0]?.n);

test('removes sessions and login tokens a day past their end, keeps live ones, and is safe to run twice', async () => {
  const revoked = await loginAs(platform, ADMIN.username, ADMIN.password);
  await platform.request({ method: 'POST', url: '/api/auth/logout', headers: bearer(revoked) });
  await platform.request({ method: 'POST', url: '/api/whatsapp/admin/users/1/login-tokens', headers: { 'x-admin-token': ADMIN_TOKEN } });
  assert.equal(await count('auth_sessions'), 1);
  assert.equal(await count('login_tokens'), 1);

  const now = new Date(Date.now() + 26 * 3_600_000);
  platform.advance(26 * 3_600_000);
  const live = await loginAs(platform, ADMIN.username, ADMIN.password);

  const first = await purgeExpiredCredentials(platform.app.orm.em.fork(), now);
  assert.deepEqual(first, { sessions: 1, loginTokens: 1 });
  assert.deepEqual(await purgeExpiredCredentials(platform.app.orm.em.fork(), now), { sessions: 0, loginTokens: 0 });
  assert.equal((await platform.request({ method: 'GET', url: '/api/auth/verify', headers: bearer(live) })).statusCode, 200);
});
