import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { findUser } from '../../src/auth/users.ts';
import { sqlOf } from '../../src/events/event-store.ts';
import { bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// Every resource belongs to a user: another user's resource is 404 (never 403) and never listed.
let platform: TestPlatform;
let alice: { id: number; token: string };
let bob: { id: number; token: string };
before(async () => {
  platform = await startTestPlatform();
  alice = await createUser(platform, 'alice');
  bob = await createUser(platform, 'bob');
});
after(() => platform.close());

const createToken = async (owner: { token: string }, name: string) => {
  const res = await platform.request({ method: 'POST', url: '/api/auth/api-tokens', headers: bearer(owner.token), payload: { name } });
  assert.equal(res.statusCode, 201);
  return res.json().data as { id: number; token: string };
};

test("a user's API tokens never appear in another user's list", async () => {
  const alices = await createToken(alice, 'alice-ci');
  const bobs = await createToken(bob, 'bob-ci');
  const list = async (owner: { token: string }) =>
    (await platform.request({ method: 'GET', url: '/api/auth/api-tokens', headers: bearer(owner.token) })).json().data.map((t: { id: number }) => t.id);
  assert.deepEqual(await list(alice), [alices.id]);
  assert.deepEqual(await list(bob), [bobs.id]);
});

test("revoking another user's API token is 404 and leaves it working", async () => {
  const alices = await createToken(alice, 'alice-keep');
  const res = await platform.request({ method: 'DELETE', url: `/api/auth/api-tokens/${alices.id}`, headers: bearer(bob.token) });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().code, 'API_TOKEN_NOT_FOUND');
  const missing = await platform.request({ method: 'DELETE', url: '/api/auth/api-tokens/999999', headers: bearer(bob.token) });
  assert.equal(missing.statusCode, 404, 'a foreign id answers exactly as a missing one');
  assert.deepEqual(missing.json().code, res.json().code);
  const still = await platform.request({ method: 'GET', url: '/api/auth/verify', headers: { 'x-api-token': alices.token } });
  assert.equal(still.json().data.id, alice.id);
});

test("an API token acts as its owner only", async () => {
  const bobs = await createToken(bob, 'bob-acting');
  const res = await platform.request({ method: 'GET', url: '/api/auth/api-tokens', headers: { 'x-api-token': bobs.token } });
  assert.ok(res.json().data.every((t: { name: string }) => t.name.startsWith('bob')));
});

test('a device API key is scoped to its device and refused on user routes', async () => {
  const em = platform.app.orm.em.fork();
  const ctx = { em, config: platform.config, clock: () => new Date() };
  const [device] = await sqlOf(em)(`insert into devices (user_id, alias, session_id, desired_state, created_at) values (?, 'phone', ?, 'stopped', now()) returning id`, [
    alice.id,
    `user_${alice.id}_device_phone`,
  ]);
  const deviceId = Number(device!.id);
  const { secret } = await createApiKey(ctx, await findUser(ctx, alice.id), { kind: 'device', deviceId, name: 'phone' });
  assert.match(secret, /^dev_/);

  const who = await platform.request({ method: 'GET', url: '/api/auth/verify', headers: { 'x-device-api-key': secret } });
  assert.equal(who.statusCode, 200);
  assert.deepEqual([who.json().data.id, who.json().data.deviceId, who.json().data.via], [alice.id, deviceId, 'device-key']);

  const userRoute = await platform.request({ method: 'GET', url: '/api/auth/api-tokens', headers: { 'x-device-api-key': secret } });
  assert.equal(userRoute.statusCode, 403);
  const asApiToken = await platform.request({ method: 'GET', url: '/api/auth/verify', headers: { 'x-api-token': secret } });
  assert.equal(asApiToken.statusCode, 401, 'a device key is not an API token');
  const tampered = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
  const wrong = await platform.request({ method: 'GET', url: '/api/auth/verify', headers: { 'x-device-api-key': tampered } });
  assert.equal(wrong.statusCode, 401);
});

test('stored credentials are hashes, never the secrets themselves', async () => {
  const created = await createToken(alice, 'alice-hash-check');
  const rows = await platform.app.orm.em.fork().getConnection().execute('select secret_hash from api_keys');
  const secret = created.token.split('_').at(-1)!;
  assert.ok(rows.length > 0);
  for (const row of rows) {
    assert.match(row.secret_hash, /^[0-9a-f]{64}$/);
    assert.notEqual(row.secret_hash, secret);
  }
  const users = await platform.app.orm.em.fork().getConnection().execute('select password_hash from users');
  for (const row of users) assert.match(row.password_hash, /^scrypt\$/);
});
