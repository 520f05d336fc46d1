import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { EntityManager } from '@mikro-orm/postgresql';
import { FIRST_WAIT_MS } from '../../src/domain/login-throttle.ts';
import { readStream } from '../../src/events/event-store.ts';
import { ADMIN, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// Failed password logins slow down per account, whichever address they come from, for unknown usernames alike;
// a success resets the count; every attempt is in the log, never with its password.
let platform: TestPlatform;
const PASSWORD = 'the-right-password-1';

before(async () => {
  platform = await startTestPlatform({ LOGIN_FAILURE_LIMIT: '3/1h' });
});
after(() => platform?.close());

const login = (username: string, password: string, ip: string) =>
  platform.request({ method: 'POST', url: '/api/auth/login', payload: { username, password }, remoteAddress: ip });
// The account's login attempts, after the one tests/helpers' createUser makes.
const attempts = async (username: string) =>
  (await readStream(platform.app.orm.em.fork() as EntityManager, `account-${username}`))
    .filter((e) => e.type.startsWith('auth.log'))
    .filter((e) => e.metadata.ip !== '127.0.0.1');

test('failures from two addresses add up per account; at the limit even the right password waits, with Retry-After', async () => {
  await createUser(platform, 'alice', PASSWORD);
  for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.1']) assert.equal((await login('alice', 'wrong-password', ip)).statusCode, 401);
  const refused = await login('alice', PASSWORD, '10.0.0.2');
  assert.equal(refused.statusCode, 429);
  assert.equal(refused.json().code, 'RATE_LIMIT_EXCEEDED');
  const retryAfter = Number(refused.headers['retry-after']);
  assert.ok(retryAfter > 0 && retryAfter <= FIRST_WAIT_MS / 1000, `Retry-After ${retryAfter}`);

  // The wait over, one more failure makes the next wait twice as long.
  platform.advance(FIRST_WAIT_MS);
  assert.equal((await login('alice', 'wrong-again', '10.0.0.3')).statusCode, 401);
  const longer = await login('alice', PASSWORD, '10.0.0.1');
  assert.equal(longer.statusCode, 429);
  // Counted down from the failure: a slow machine may have let a second pass since (59 then), never a whole first wait.
  const longerWait = Number(longer.headers['retry-after']);
  assert.ok(longerWait > FIRST_WAIT_MS / 1000 && longerWait <= (2 * FIRST_WAIT_MS) / 1000, `Retry-After ${longerWait}`);

  // A success resets the count: three more failures are answered 401 again before the wait.
  platform.advance(2 * FIRST_WAIT_MS);
  assert.equal((await login('alice', PASSWORD, '10.0.0.4')).statusCode, 200);
  for (let i = 0; i < 3; i++) assert.equal((await login('alice', 'wrong-password', '10.0.0.4')).statusCode, 401);
  assert.equal((await login('alice', PASSWORD, '10.0.0.4')).statusCode, 429);
});

test('an unknown username is counted and answered exactly as a known one', async () => {
  await createUser(platform, 'bob', PASSWORD);
  const answers = async (username: string) => {
    const statuses: number[] = [];
    const bodies: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await login(username, 'guess-password', `10.0.1.${i}`);
      statuses.push(res.statusCode);
      // The wait counts down between the two runs: compared as "some seconds", checked apart below.
      const wait = res.headers['retry-after'];
      if (wait !== undefined) assert.ok(Number(wait) >= 1 && Number(wait) <= 30, `Retry-After ${wait}`);
      const body = JSON.stringify({ ...(res.json() as object), retryAfter: wait });
      bodies.push(JSON.parse(body.replace(/"retryAfter":"?\d+"?/g, '"retryAfter":"N"').replace(/in \d+ s\)/g, 'in N s)')));
    }
    return { statuses, bodies };
  };
  const known = await answers('bob');
  const unknown = await answers('nobody-by-this-name');
  assert.deepEqual(known.statuses, [401, 401, 401, 429]);
  assert.deepEqual(unknown, known);
  assert.deepEqual(
    (await attempts('nobody-by-this-name')).map((e) => e.data.reason),
    ['unknown-user', 'unknown-user', 'unknown-user', 'throttled'],
  );
});

test('parallel guesses cannot all slip under the limit', async () => {
  await createUser(platform, 'carol', PASSWORD);
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => login('carol', `guess-${i}`, `10.0.2.${i}`)));
  const statuses = answers.map((res) => res.statusCode);
  assert.ok(statuses.filter((s) => s === 401).length <= 3, `statuses ${statuses}`);
  assert.ok(statuses.every((s) => s === 401 || s === 429), `statuses ${statuses}`);
  assert.equal(answers.find((res) => res.statusCode === 429)?.json().code, 'RATE_LIMIT_EXCEEDED');
});

test('HTTP Basic (the queue dashboard) counts against the same account', async () => {
  await createUser(platform, 'dave', PASSWORD);
  const basic = (password: string) =>
    platform.request({
      method: 'GET',
      url: '/admin/queues',
      headers: { authorization: `Basic ${Buffer.from(`dave:${password}`).toString('base64')}` },
      remoteAddress: '10.0.3.9',
    });
  for (let i = 0; i < 3; i++) assert.equal((await basic(`wrong-${i}`)).statusCode, 401);
  assert.equal((await login('dave', PASSWORD, '10.0.3.1')).statusCode, 429);
  assert.deepEqual((await attempts('dave')).map((e) => e.data.method), ['basic', 'basic', 'basic', 'password']);
});

test('every attempt is recorded with its outcome, address and request id, and no password anywhere in it', async () => {
  await createUser(platform, 'erin', PASSWORD);
  const failed = await login('erin', 'secret-wrong-guess', '10.0.4.1');
  const ok = await login('erin', PASSWORD, '10.0.4.2');
  assert.equal(ok.statusCode, 200);
  const events = await attempts('erin');
  assert.deepEqual(
    events.map((e) => [e.type, e.data.reason ?? e.data.method, e.metadata.ip, e.metadata.requestId]),
    [
      ['auth.login-failed', 'wrong-password', '10.0.4.1', failed.headers['x-request-id']],
      ['auth.logged-in', 'password', '10.0.4.2', ok.headers['x-request-id']],
    ],
  );
  assert.deepEqual(events[1]!.metadata.actor, { userId: ok.json().data.user.id, username: 'erin', via: 'password' });
  const text = JSON.stringify(events);
  for (const secret of [PASSWORD, 'secret-wrong-guess', ok.json().token]) assert.ok(!text.includes(secret), `the log holds ${secret}`);
  // The administrator's own login is recorded the same way.
  assert.equal((await login(ADMIN.username, ADMIN.password, '10.0.4.3')).statusCode, 200);
  assert.equal((await attempts(ADMIN.username)).at(-1)?.type, 'auth.logged-in');
});
