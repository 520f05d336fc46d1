import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { freePort, PROCESS_ADMIN_TOKEN, untilReady, useProcessFleet, type PlatformProcess } from '../helpers/processes.ts';

// Two API processes of one deployment, each keeping the credentials it checked in memory (src/api/plugins/context.ts):
// a revocation answered by one is already in force in the other, also for a process that was stalled meanwhile.

describe('credentials cached in two API processes', () => {
  const fleet = useProcessFleet({});
  const bases: string[] = [];
  const processes: PlatformProcess[] = [];
  let db: pg.Client;

  const call = async (base: string, method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const admin = { 'x-admin-token': PROCESS_ADMIN_TOKEN };
  const me = (base: string, headers: Record<string, string>) => call(base, 'GET', '/api/auth/me', headers).then((res) => res.status);
  // A user with a login token and an API token, both used once in each process (so both have them cached).
  let users = 0;
  const userWithCredentials = async () => {
    const [a] = bases as [string];
    const username = `user${++users}`;
    const created = await call(a, 'POST', '/api/whatsapp/admin/users', admin, { username, password: `password-of-${username}` });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const login = await call(a, 'POST', '/api/auth/login', {}, { username, password: `password-of-${username}` });
    const jwt = { authorization: `Bearer ${login.body.data.token}` };
    const token = await call(a, 'POST', '/api/auth/api-tokens', jwt, { name: 'ci' });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    const apiToken = { 'x-api-token': token.body.data.token as string };
    for (const base of bases) for (const headers of [jwt, apiToken]) assert.equal(await me(base, headers), 200);
    return { id: created.body.data.id as number, username, jwt, apiToken, tokenId: token.body.data.id as number };
  };

  before(async () => {
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      bases.push(`http://127.0.0.1:${port}`);
      processes.push(fleet.start({ ROLE: 'api', PORT: String(port) }));
    }
    // One after the other: the first migrates the database.
    for (const [i, base] of bases.entries()) await untilReady(base, processes[i]!);
    db = new pg.Client({ connectionString: fleet.resources.databaseUrl });
    // The fleet's cleanup may drop the database under it first.
    db.on('error', () => {});
    await db.connect();
  });
  after(async () => {
    for (const { child } of processes) if (child.signalCode === null) child.kill('SIGCONT');
    await db?.end();
  });

  test('an API token revoked, a login logged out, a user disabled, a device deleted: refused by the other process at once', async () => {
    const [a, b] = bases as [string, string];
    const carol = await userWithCredentials();
    assert.equal((await call(a, 'DELETE', `/api/auth/api-tokens/${carol.tokenId}`, carol.jwt)).status, 200);
    assert.equal(await me(b, carol.apiToken), 401, 'the revoked API token');
    assert.equal((await call(a, 'POST', '/api/auth/logout', carol.jwt)).status, 200);
    assert.equal(await me(b, carol.jwt), 401, 'the logged-out login token');

    const dave = await userWithCredentials();
    assert.equal((await call(a, 'PATCH', `/api/whatsapp/admin/users/${dave.id}`, admin, { disabled: true })).status, 200);
    assert.equal(await me(b, dave.apiToken), 401, "a disabled user's API token");
    assert.equal(await me(b, dave.jwt), 401, "a disabled user's login token");

    const device = await call(a, 'POST', '/api/whatsapp/devices', admin, { userId: 'admin', alias: 'revoked-with-its-device' });
    assert.equal(device.status, 201, JSON.stringify(device.body));
    const deviceKey = { 'x-device-api-key': device.body.data.apiKey as string };
    const path = `/api/whatsapp/devices/${device.body.data.id}`;
    for (const base of bases) assert.equal((await call(base, 'GET', path, deviceKey)).status, 200);
    assert.equal((await call(a, 'DELETE', path, admin)).status, 200);
    assert.equal((await call(b, 'GET', path, deviceKey)).status, 401, "a deleted device's key");
  });

  test('a checked credential is served from memory: a change made behind the platform’s back shows only once something is announced', async () => {
    const [a, b] = bases as [string, string];
    const erin = await userWithCredentials();
    // Not through the API: no process hears of it, and none reads the row again.
    await db.query('update api_keys set revoked_at = now() where id = $1', [erin.tokenId]);
    assert.equal(await me(b, erin.apiToken), 200, 'still the remembered credential');
    // Any announced change makes every process forget what it remembered.
    const other = await userWithCredentials();
    assert.equal((await call(a, 'DELETE', `/api/auth/api-tokens/${other.tokenId}`, other.jwt)).status, 200);
    assert.equal(await me(b, erin.apiToken), 401);
  });

  test('a revocation while the other process is stalled is answered within seconds, and the stalled one refuses when it runs again', async () => {
    const [a, b] = bases as [string, string];
    const frank = await userWithCredentials();
    processes[1]!.child.kill('SIGSTOP');
    const started = performance.now();
    let answered: number;
    try {
      assert.equal((await call(a, 'DELETE', `/api/auth/api-tokens/${frank.tokenId}`, frank.jwt)).status, 200);
      answered = performance.now() - started;
    } finally {
      processes[1]!.child.kill('SIGCONT');
    }
    // It waits for the silent process no longer than that process goes on trusting its cache (about 3 s).
    assert.ok(answered < 15_000, `answered after ${Math.round(answered)} ms`);
    assert.equal(await me(b, frank.apiToken), 401);
    assert.equal(await me(b, frank.jwt), 200, 'what was not revoked still works');
  });
});
