import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sqlOf } from '../../src/events/event-store.ts';
import { bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// Seed 003's sessions as its snippets read them: names in free text, the list an array, the created session an
// object with `id`. (Connecting, sending, numbers and groups need WhatsApp: see the e2e files.)
let platform: TestPlatform;
let user: { id: number; username: string; token: string };
before(async () => {
  platform = await startTestPlatform({ ALLOW_PRIVATE_WEBHOOKS: 'true' });
  user = await createUser(platform, 'seed3-sessions');
});
after(() => platform.close());

const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, token = user.token) =>
  platform.request({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
const names = async () => (await api('GET', '/api/sessions')).json().map((s: { name: string }) => s.name);

test('"Business Support" is a session name: kept as given, its alias the URL-safe form', async () => {
  const res = await api('POST', '/api/sessions', { name: 'Business Support', webhook_url: 'http://127.0.0.1:9/webhook/business' });
  assert.equal(res.statusCode, 201, res.body);
  const session = res.json();
  assert.equal(typeof session.id, 'number');
  assert.deepEqual(
    { name: session.name, alias: session.alias, connected: session.connected, logged_in: session.logged_in, phone: session.phone, webhook_url: session.webhook_url },
    { name: 'Business Support', alias: 'Business-Support', connected: false, logged_in: false, phone: null, webhook_url: 'http://127.0.0.1:9/webhook/business' },
  );
  assert.match(session.session_id, /_device_Business-Support$/);
  assert.match(session.api_key, /^dev_/);
  const [row] = await sqlOf(platform.app.orm.em.fork())('select name, alias from devices where id = ?', [session.id]);
  assert.deepEqual(row, { name: 'Business Support', alias: 'Business-Support' });
  const seed004 = (await api('GET', `/api/whatsapp/devices/${session.id}`)).json().data;
  assert.deepEqual([seed004.alias, seed004.sessionId], ['Business-Support', session.session_id]);
  assert.equal((await api('GET', `/api/sessions/${session.id}`)).json().name, 'Business Support');
});

test("the list is an array the seed's monitoring snippet counts", async () => {
  await api('POST', '/api/sessions', { name: '  Personal Account ' });
  const res = await api('GET', '/api/sessions');
  assert.equal(res.statusCode, 200);
  const sessions = res.json();
  assert.ok(Array.isArray(sessions));
  const stats = {
    total: sessions.length,
    connected: sessions.filter((s: { connected: boolean }) => s.connected).length,
    logged_in: sessions.filter((s: { logged_in: boolean }) => s.logged_in).length,
    disconnected: sessions.filter((s: { connected: boolean }) => !s.connected).length,
  };
  assert.deepEqual(stats, { total: 2, connected: 0, logged_in: 0, disconnected: 2 });
  assert.deepEqual(await names(), ['Business Support', 'Personal Account'], 'names are trimmed');
});

test('a device created through seed 004 shows its alias as its name', async () => {
  const created = await api('POST', '/api/whatsapp/devices', { alias: 'from-seed-4' });
  assert.equal(created.statusCode, 201, created.body);
  const session = (await api('GET', `/api/sessions/${created.json().device.id}`)).json();
  assert.deepEqual([session.name, session.alias], ['from-seed-4', 'from-seed-4']);
});

test('names that give an alias already taken are 409 DEVICE_ALREADY_EXISTS, and create nothing', async () => {
  const before = await names();
  for (const name of ['Business Support', 'Business  Support', 'Business-Support', 'Business / Support']) {
    const res = await api('POST', '/api/sessions', { name });
    assert.equal(res.statusCode, 409, `${name}: ${res.body}`);
    const body = res.json();
    assert.equal(body.code, 'DEVICE_ALREADY_EXISTS');
    assert.match(body.message, /"Business-Support"/);
  }
  assert.deepEqual(await names(), before);
  const other = await createUser(platform, 'seed3-other');
  assert.equal((await api('POST', '/api/sessions', { name: 'Business Support' }, other.token)).statusCode, 201, "another user's sessions are apart");
});

test('bad names are 400 VALIDATION_ERROR on body.name, and create nothing', async () => {
  const before = await names();
  for (const name of ['', '   ', 'two\nlines', 'tab\there', 'x'.repeat(129)]) {
    const res = await api('POST', '/api/sessions', { name });
    assert.equal(res.statusCode, 400, JSON.stringify(name));
    assert.equal(res.json().code, 'VALIDATION_ERROR');
    assert.deepEqual([...new Set(res.json().details.map((d: { field: string }) => d.field))], ['body.name']);
  }
  assert.equal((await api('POST', '/api/sessions', {})).statusCode, 400);
  assert.deepEqual(await names(), before);
});

test('a rename changes the name and the alias; the id and session id stay', async () => {
  const created = (await api('POST', '/api/sessions', { name: 'Sales Team' })).json();
  const renamed = await api('PUT', `/api/sessions/${created.id}/name`, { name: 'Sales & Billing' });
  assert.equal(renamed.statusCode, 200, renamed.body);
  assert.deepEqual(
    [renamed.json().id, renamed.json().name, renamed.json().alias, renamed.json().session_id],
    [created.id, 'Sales & Billing', 'Sales-Billing', created.session_id],
  );
  assert.equal((await api('GET', `/api/sessions/${created.id}`)).json().name, 'Sales & Billing');

  const taken = await api('PUT', `/api/sessions/${created.id}/name`, { name: 'personal account' });
  assert.equal(taken.statusCode, 200, 'aliases differ by case: "personal-account" is free');
  const clash = await api('PUT', `/api/sessions/${created.id}/name`, { name: 'Personal Account' });
  assert.equal(clash.statusCode, 409, clash.body);
  assert.equal(clash.json().code, 'DEVICE_ALREADY_EXISTS');
  assert.equal((await api('GET', `/api/sessions/${created.id}`)).json().name, 'personal account', 'a refused rename changes nothing');

  // The old name's alias lives on in the renamed session's id, so a new session cannot take it.
  const reuse = await api('POST', '/api/sessions', { name: 'Sales Team' });
  assert.equal(reuse.statusCode, 409, reuse.body);
  assert.equal(reuse.json().code, 'DEVICE_ALREADY_EXISTS');

  assert.equal((await api('PUT', `/api/sessions/${created.id}/name`, { name: 'bad\u0007bell' })).statusCode, 400);
  assert.equal((await api('PUT', `/api/sessions/987654/name`, { name: 'Nobody' })).statusCode, 404);
});

test('delete: gone from the list, then 404', async () => {
  const created = (await api('POST', '/api/sessions', { name: 'Short Lived' })).json();
  assert.deepEqual((await api('DELETE', `/api/sessions/${created.id}`)).json(), { success: true });
  assert.ok(!(await names()).includes('Short Lived'));
  const gone = await api('GET', `/api/sessions/${created.id}`);
  assert.equal(gone.statusCode, 404);
  assert.deepEqual(Object.keys(gone.json()).sort(), ['code', 'error', 'message', 'success']);
});

test("Scenario 2's curl -d without Content-Type (sent as a form) is read as the JSON it is; a real form as its fields", async () => {
  const asCurl = (url: string, body: string, headers: Record<string, string> = {}) =>
    platform.request({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: body });
  const login = await asCurl('/api/login', JSON.stringify({ username: 'seed3-sessions', password: 'password-of-a-user' }));
  assert.equal(login.statusCode, 200, login.body);
  const created = await asCurl('/api/sessions', '{"name": "User 1 Session"}', bearer(login.json().token));
  assert.equal(created.statusCode, 201, created.body);
  assert.deepEqual([created.json().name, created.json().alias], ['User 1 Session', 'User-1-Session']);
  const form = await asCurl('/api/login', 'username=seed3-sessions&password=password-of-a-user');
  assert.equal(form.statusCode, 200, form.body);
  const broken = await asCurl('/api/sessions', '{"name": ', bearer(login.json().token));
  assert.equal(broken.statusCode, 400);
  assert.equal(broken.json().code, 'VALIDATION_ERROR');
  const unnamed = await asCurl('/api/sessions', 'webhook_url=', bearer(login.json().token));
  assert.equal(unnamed.statusCode, 400, 'a form is checked by the schema like any body');
  assert.ok(unnamed.json().details.some((d: { field: string }) => d.field === 'body.name'));
});
