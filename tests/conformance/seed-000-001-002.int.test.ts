import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { curlJsonEach } from './seed-platform.ts';

// Seeds 000 and 001 (the authentication guide, in English and in Indonesian: the same steps, tested once) and
// seed 002 (the authentication API), over HTTP as written. Seed 002's bot `/login` command, which hands out the
// one-time token, runs over WhatsApp and has its own end-to-end test; here the administrator issues that token.
const JWT_TTL_SECONDS = 600;
let platform: TestPlatform;
let base: string;
// The guide's "your_username"/"your_password", set up by the administrator.
let userId: number;
before(async () => {
  platform = await startTestPlatform({ JWT_TTL: `${JWT_TTL_SECONDS}s` });
  base = await platform.app.listen({ port: 0, host: '127.0.0.1' });
  const created = await post('/api/whatsapp/admin/users', { username: 'your_username', password: 'your_password' }, { 'X-Admin-Token': ADMIN_TOKEN });
  assert.equal(created.status, 201);
  userId = (await json(created)).data.id;
});
after(() => platform.close());

const json = async (response: Response): Promise<any> => response.json();
const post = (path: string, body?: object, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers }, ...(body ? { body: JSON.stringify(body) } : {}) });
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const verify = (token: string) => fetch(`${base}/api/auth/verify`, { headers: bearer(token) });


let token: string;
test('seeds 000/001 › Steps to Authenticate › 1. Login Request, 2. Receive Token', async () => {
  const response = await post('/api/auth/login', { username: 'your_username', password: 'your_password' });
  assert.equal(response.status, 200);
  const answer = await json(response);
  assert.equal(typeof answer.token, 'string', `a top-level token: ${JSON.stringify(answer)}`);
  token = answer.token;
});

test('seeds 000/001 › Steps to Authenticate › 3. Include Token in Requests', async () => {
  const protectedResource = await fetch(`${base}/api/sessions`, { headers: bearer(token) });
  assert.equal(protectedResource.status, 200, await protectedResource.clone().text());
  assert.equal((await fetch(`${base}/api/sessions`)).status, 401, 'without it');
});

test('seeds 000/001 › Token Expiration', async () => {
  platform.advance((JWT_TTL_SECONDS + 1) * 1000);
  const expired = await verify(token);
  assert.equal(expired.status, 401);
  assert.equal((await json(expired)).code, 'TOKEN_EXPIRED');
  // "To obtain a new token, repeat the login process."
  const again = await json(await post('/api/auth/login', { username: 'your_username', password: 'your_password' }));
  token = again.token;
  assert.equal((await verify(token)).status, 200);
});

test('seeds 000/001 › Session Management (logout)', async () => {
  const response = await post('/api/auth/logout', undefined, bearer(token));
  assert.equal(response.status, 200);
  const refused = await verify(token);
  assert.equal(refused.status, 401);
  assert.equal((await json(refused)).code, 'INVALID_TOKEN');
});

// The one-time token the bot's `/login` command gives.
async function tokenFromTheBot(): Promise<string> {
  const issued = await post(`/api/whatsapp/admin/users/${userId}/login-tokens`, {}, { 'X-Admin-Token': ADMIN_TOKEN });
  assert.equal(issued.status, 201);
  return (await json(issued)).data.token;
}

let jwt: string;
let expiresAt: number;
test('seed 002 › Login › POST /api/auth/login', async () => {
  const response = await post('/api/auth/login', { token: await tokenFromTheBot() });
  const answer = await json(response);
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.equal(typeof answer.data.token, 'string');
  assert.equal(typeof answer.data.expiresAt, 'number');
  assert.ok(answer.data.expiresAt > Date.now(), 'milliseconds');
  ({ token: jwt, expiresAt } = answer.data);
});

test('seed 002 › Verify Token › GET /api/auth/verify', async () => {
  const answer = await json(await verify(jwt));
  assert.equal(answer.success, true);
  assert.equal(answer.data.valid, true);
  // A string, as in the seed: the user's identifier (seed 004's userId).
  assert.equal(answer.data.userId, 'your_username');
  assert.equal(answer.data.isMaster, false);
  assert.equal(answer.data.expiresAt, expiresAt);
});

test('seed 002 › Refresh Token › POST /api/auth/refresh', async () => {
  platform.advance(1000);
  const answer = await json(await post('/api/auth/refresh', undefined, bearer(jwt)));
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.equal(typeof answer.data.token, 'string');
  assert.ok(answer.data.expiresAt > expiresAt, 'a later expiry');
  jwt = answer.data.token;
  assert.equal((await verify(jwt)).status, 200);
});

test('seed 002 › Logout › POST /api/auth/logout', async () => {
  const answer = await json(await post('/api/auth/logout', undefined, bearer(jwt)));
  assert.deepEqual(answer, { success: true });
  assert.equal((await verify(jwt)).status, 401);
});

test('seed 002 › Error Codes', async () => {
  const cases: [RequestInit, string, string][] = [
    [{ headers: bearer('not-a-token') }, 'INVALID_TOKEN', 'Token is invalid'],
    [{}, 'UNAUTHORIZED', 'Not authenticated'],
  ];
  const fresh = (await json(await post('/api/auth/login', { token: await tokenFromTheBot() }))).data.token;
  platform.advance((JWT_TTL_SECONDS + 1) * 1000);
  cases.push([{ headers: bearer(fresh) }, 'TOKEN_EXPIRED', 'Token has expired']);
  for (const [init, code, message] of cases) {
    const response = await fetch(`${base}/api/auth/verify`, init);
    const answer = await json(response);
    assert.equal(response.status, 401, JSON.stringify(answer));
    assert.equal(answer.success, false);
    assert.equal(answer.code, code);
    assert.ok(answer.error.startsWith(message), `${code}: ${answer.error}`);
  }
});

test('seed 002 › Usage Examples › JavaScript', async () => {
  const loginToken = await tokenFromTheBot();
  // Login
  const response = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: loginToken }),
  });
  const { data } = await json(response);

  // Use token for subsequent requests (the seed's /api/config belongs to another product: verify stands in)
  const config = await fetch(`${base}/api/auth/verify`, {
    headers: { Authorization: `Bearer ${data.token}` },
  });
  assert.equal(config.status, 200);
});

test('seed 002 › Usage Examples › cURL', async () => {
  const fill = (snippet: string, values: Record<string, string>) =>
    Object.entries({ 'http://localhost:3000': base, ...values }).reduce((text, [from, to]) => text.replaceAll(from, to), snippet);
  const [login] = await curlJsonEach([
    fill(
      String.raw`# Login
curl -X POST http://localhost:3000/api/auth/login \
  -H "Content-Type: application/json" \
  -d '{"token": "xxx"}'`,
      { xxx: await tokenFromTheBot() },
    ),
  ]);
  assert.equal(login.success, true, JSON.stringify(login));
  const [verified] = await curlJsonEach([
    fill(
      String.raw`# Verify
curl http://localhost:3000/api/auth/verify \
  -H "Authorization: Bearer <token>"`,
      { '<token>': login.data.token },
    ),
  ]);
  assert.equal(verified.data.valid, true, JSON.stringify(verified));
});
