import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sqlOf } from '../../src/events/event-store.ts';
import { ADMIN, ADMIN_TOKEN, bearer, loginAs, type TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';
import { linkDevice, useLinkedPlatform, type LinkedDevice } from '../helpers/whatsapp.ts';
import type { WhatsAppSimulator } from '../../simulator/server.ts';

// Seed 002's login from WhatsApp, end to end: an administrator designates one of their linked devices as the login
// bot; a user's phone writes `/login` to it through the simulator; real Baileys records the message; the login-bot
// reactor issues a token and queues the reply; the phone receives it; the token is exchanged at /api/auth/login.
let sim: WhatsAppSimulator;
let platform: TestPlatform;
let user: { id: number; token: string };
let device: LinkedDevice;
useLinkedPlatform({ SEND_MIN_INTERVAL: '100ms' }, { username: 'shop', alias: 'shop', number: '6281500000002' }, (linked) => ({ sim, platform, user, device } = linked));

const BOT_NUMBER = '6281500000001';
const admin = { 'x-admin-token': ADMIN_TOKEN };
const TOKEN = /wlt_[A-Za-z0-9_-]+/;
let bot: LinkedDevice | undefined;

// The administrator's own device, linked to the bot's phone and designated (once, by the first test that needs it).
async function designatedBot(): Promise<LinkedDevice> {
  if (bot) return bot;
  const adminJwt = await loginAs(platform, ADMIN.username, ADMIN.password);
  bot = await linkDevice(platform, sim, adminJwt, 'login-bot', BOT_NUMBER);
  const res = await platform.request({ method: 'PUT', url: '/api/whatsapp/admin/login-bot', headers: admin, payload: { deviceId: bot.id } });
  assert.equal(res.statusCode, 200, res.body);
  return bot;
}

async function userWithNumber(username: string, number: string): Promise<{ id: number }> {
  const res = await platform.request({ method: 'POST', url: '/api/whatsapp/admin/users', headers: admin, payload: { username, password: 'password-of-a-user', phoneNumber: `+${number}` } });
  assert.equal(res.statusCode, 201, res.body);
  sim.createPhone(number);
  return res.json().data;
}

const records = async (number: string) =>
  (await sqlOf(platform.app.orm.em.fork())(`select data from events where type = 'auth.bot-login-requested' and data->>'number' = ? order by global_position`, [`+${number}`])).map(
    (r) => r.data as Record<string, unknown>,
  );
const recordsUntil = (number: string, count: number) => until(async () => ((await records(number)).length >= count ? records(number) : undefined), `${count} /login records of ${number}`);
const tokensAt = (number: string) => sim.inbox(number).filter((m) => TOKEN.test(m.text));
const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

test('designating the login bot: administrators only, one of their own devices', { timeout: 60_000 }, async () => {
  const put = (headers: Record<string, string>, payload: unknown) => platform.request({ method: 'PUT', url: '/api/whatsapp/admin/login-bot', headers, payload: payload as object });
  assert.equal((await platform.request({ method: 'GET', url: '/api/whatsapp/admin/login-bot', headers: admin })).statusCode, 404, 'none designated yet');
  assert.equal((await put(bearer(user.token), { deviceId: device.id })).statusCode, 403, 'a user cannot designate');
  const others = await put(admin, { deviceId: device.id });
  assert.equal(others.statusCode, 403, 'a device of another user');
  assert.equal(others.json().code, 'FORBIDDEN');
  const missing = await put(admin, { deviceId: 999_999 });
  assert.deepEqual([missing.statusCode, missing.json().code], [404, 'DEVICE_NOT_FOUND']);
  assert.equal((await put(admin, { deviceId: 'x' })).statusCode, 400);
  assert.equal((await put(admin, {})).statusCode, 400);
  assert.equal((await platform.request({ method: 'GET', url: '/api/whatsapp/admin/login-bot', headers: admin })).statusCode, 404, 'refusals designated nothing');

  const linked = await designatedBot();
  const shown = (await platform.request({ method: 'GET', url: '/api/whatsapp/admin/login-bot', headers: admin })).json().data;
  assert.deepEqual([shown.deviceId, shown.sessionId, shown.phoneNumber, shown.status], [linked.id, linked.sessionId, `+${BOT_NUMBER}`, 'connected']);
  const again = await put(admin, { deviceId: linked.id });
  assert.equal(again.json().data.designatedAt, shown.designatedAt, 'designating the same device again keeps its time');
  assert.equal((await platform.request({ method: 'DELETE', url: '/api/whatsapp/admin/login-bot', headers: bearer(user.token) })).statusCode, 403);
});

test('phone numbers on users: normalised, validated, unique; a user sets and clears their own', async () => {
  const create = (username: string, phoneNumber: string) =>
    platform.request({ method: 'POST', url: '/api/whatsapp/admin/users', headers: admin, payload: { username, password: 'password-of-a-user', phoneNumber } });
  const made = await create('dora', '+62 815-0000-0301');
  assert.equal(made.statusCode, 201, made.body);
  assert.equal(made.json().data.phoneNumber, '+6281500000301');
  const invalid = await create('eli', '0815 123');
  assert.deepEqual([invalid.statusCode, invalid.json().code], [400, 'INVALID_PHONE_NUMBER']);
  const taken = await create('eli', '6281500000301');
  assert.deepEqual([taken.statusCode, taken.json().code], [409, 'PHONE_NUMBER_TAKEN']);
  const list = (await platform.request({ method: 'GET', url: '/api/whatsapp/admin/users?limit=200', headers: admin })).json().data.items;
  assert.ok(!list.some((u: { username: string }) => u.username === 'eli'), 'refused creations created nobody');

  const eli = await create('eli', '+6281500000302');
  const patch = (payload: object) => platform.request({ method: 'PATCH', url: `/api/whatsapp/admin/users/${eli.json().data.id}`, headers: admin, payload });
  assert.equal((await patch({ phoneNumber: '+62 815 0000 0301' })).statusCode, 409);
  assert.equal((await patch({ phoneNumber: 'call me' })).json().code, 'INVALID_PHONE_NUMBER');
  assert.equal((await patch({ phoneNumber: null })).json().data.phoneNumber, null);

  const me = (method: 'GET' | 'PATCH', payload?: object) => platform.request({ method, url: '/api/auth/me', headers: bearer(user.token), ...(payload ? { payload } : {}) });
  assert.equal((await me('GET')).json().data.phoneNumber, null);
  assert.equal((await me('PATCH', { phoneNumber: '6281500000303' })).json().data.phoneNumber, '+6281500000303');
  assert.equal((await me('GET')).json().data.phoneNumber, '+6281500000303');
  assert.equal((await me('PATCH', { phoneNumber: '+6281500000301' })).statusCode, 409, "another user's number");
  assert.equal((await me('PATCH', { phoneNumber: 'x' })).statusCode, 400);
  assert.equal((await me('PATCH', { username: 'boss' })).statusCode, 400, 'only the number');
  assert.equal((await me('PATCH', { phoneNumber: null })).json().data.phoneNumber, null);
});

test('/login from a registered number: the reply carries a token that logs in once (seed 002 shapes), then refresh and logout', { timeout: 90_000 }, async () => {
  const linked = await designatedBot();
  const ana = await userWithNumber('ana', '6281500000101');
  sim.sendFromPhone('6281500000101', BOT_NUMBER, '  /LOGIN ');

  const reply = await until(() => tokensAt('6281500000101')[0], 'the token at the phone');
  assert.equal(reply.from.split(/[:@]/)[0], BOT_NUMBER);
  assert.match(reply.text, /POST \/api\/auth\/login/);
  assert.match(reply.text, /5m/, 'how long it lasts (LOGIN_TOKEN_TTL)');
  const loginToken = TOKEN.exec(reply.text)![0];

  // Seed 002: POST /api/auth/login {"token": …} → {success, data: {token, expiresAt}}.
  const login = await platform.request({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ token: loginToken }) });
  assert.equal(login.statusCode, 200, login.body);
  const { success, data } = login.json();
  assert.equal(success, true);
  assert.equal(typeof data.token, 'string');
  assert.ok(Number.isInteger(data.expiresAt) && data.expiresAt > Date.now(), 'expiresAt in milliseconds');

  const verify = (token: string) => platform.request({ method: 'GET', url: '/api/auth/verify', headers: { Authorization: `Bearer ${token}` } });
  const verified = (await verify(data.token)).json();
  assert.equal(verified.success, true);
  assert.equal(verified.data.valid, true);
  assert.ok([ana.id, 'ana'].includes(verified.data.userId), `userId names ana: ${verified.data.userId}`);
  assert.equal(verified.data.isMaster, false);
  assert.equal(verified.data.expiresAt, data.expiresAt);

  const reused = await platform.request({ method: 'POST', url: '/api/auth/login', payload: { token: loginToken } });
  assert.deepEqual([reused.statusCode, reused.json().code], [401, 'INVALID_TOKEN'], 'a login token works once');

  const refreshed = await platform.request({ method: 'POST', url: '/api/auth/refresh', headers: bearer(data.token) });
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  const next = refreshed.json().data;
  assert.ok(Number.isInteger(next.expiresAt));
  assert.equal((await verify(data.token)).statusCode, 401, 'the refreshed-away token is refused');
  assert.equal((await platform.request({ method: 'POST', url: '/api/auth/logout', headers: bearer(next.token) })).statusCode, 200);
  assert.equal((await verify(next.token)).statusCode, 401, 'logged out');

  const [record] = await recordsUntil('6281500000101', 1);
  assert.equal(record!.outcome, 'issued');
  assert.equal(record!.userId, ana.id);
  const tokenExpiry = Number(record!.expiresAt);
  assert.ok(tokenExpiry > Date.now() && tokenExpiry <= Date.now() + 5 * 60_000, 'the login token lasts LOGIN_TOKEN_TTL');
  assert.equal(typeof record!.messageId, 'string');
  assert.ok(!JSON.stringify(record).includes(loginToken), 'the record never holds the token');
  const [queued] = await sqlOf(platform.app.orm.em.fork())(`select metadata from events where stream_id = ?`, [`message-${record!.messageId}`]);
  assert.equal((queued!.metadata as { deviceId: number }).deviceId, linked.id, 'the reply went out on the bot device');

  await settle();
  assert.equal(tokensAt('6281500000101').length, 1, 'answered once');
});

test('unknown numbers, disabled users and ordinary messages get nothing usable; each /login is recorded', { timeout: 90_000 }, async () => {
  await designatedBot();
  sim.createPhone('6281500000199');
  sim.sendFromPhone('6281500000199', BOT_NUMBER, '/login');
  const cid = await userWithNumber('cid', '6281500000102');
  await platform.request({ method: 'PATCH', url: `/api/whatsapp/admin/users/${cid.id}`, headers: admin, payload: { disabled: true } });
  sim.sendFromPhone('6281500000102', BOT_NUMBER, '/login');
  sim.sendFromPhone('6281500000102', BOT_NUMBER, '/login please');
  sim.sendFromPhone('6281500000102', device.number, '/login');

  const [stranger] = await recordsUntil('6281500000199', 1);
  assert.deepEqual([stranger!.outcome, stranger!.userId, stranger!.expiresAt], ['unknown-number', undefined, undefined]);
  const [disabled] = await recordsUntil('6281500000102', 1);
  assert.deepEqual([disabled!.outcome, disabled!.userId, disabled!.expiresAt], ['user-disabled', cid.id, undefined]);
  await settle();
  assert.equal(sim.inbox('6281500000199').length, 0, 'the stranger hears nothing');
  assert.equal(sim.inbox('6281500000102').length, 0, 'nor does a disabled user');
  assert.equal((await records('6281500000102')).length, 1, 'only the command, only to the bot');
});

test('the (n+1)th /login inside the window (LOGIN_BOT_RATE 3/10m) is refused and recorded', { timeout: 120_000 }, async () => {
  await designatedBot();
  await userWithNumber('bo', '6281500000103');
  for (let i = 0; i < 4; i++) sim.sendFromPhone('6281500000103', BOT_NUMBER, '/login');

  const all = await recordsUntil('6281500000103', 4);
  assert.deepEqual(
    all.map((r) => r.outcome),
    ['issued', 'issued', 'issued', 'rate-limited'],
  );
  await until(() => (tokensAt('6281500000103').length >= 3 ? true : undefined), 'three tokens at the phone');
  await settle();
  const tokens = tokensAt('6281500000103').map((m) => TOKEN.exec(m.text)![0]);
  assert.equal(tokens.length, 3, 'the refused request got no token');
  assert.equal(new Set(tokens).size, 3);
});

test('a sender known by LID alone: unknown until the LID map (of any of the bot owner’s devices) names the number', { timeout: 120_000 }, async () => {
  const linked = await designatedBot();
  await userWithNumber('lia', '6281500000104');
  const lia = sim.phones.get('6281500000104')!;
  const db = sqlOf(platform.app.orm.em.fork());
  const bySender = async (sender: string) =>
    (await db(`select data from events where type = 'auth.bot-login-requested' and data->>'sender' = ? order by global_position`, [sender])).map((r) => r.data as Record<string, unknown>);

  // Nobody knows her number yet: the bot cannot tell who she is.
  sim.sendFromPhone(lia.number, BOT_NUMBER, '/login', { addressing: 'lid', withAlt: false });
  const [unknown] = await until(async () => ((await bySender(`${lia.lid}@lid`)).length ? bySender(`${lia.lid}@lid`) : undefined), 'her first /login recorded');
  assert.deepEqual([unknown!.outcome, unknown!.number], ['unknown-number', undefined]);

  // The administrator's other device has her in its phone's address book: her LID and number reach the LID map
  // (the bot's own Baileys still knows nothing of her).
  const adminJwt = await loginAs(platform, ADMIN.username, ADMIN.password);
  const desk = await linkDevice(platform, sim, adminJwt, 'desk', '6281500000003');
  await sim.appState.setAddressBook(sim.phones.get(desk.number)!, [{ number: lia.number, name: 'Lia' }]);
  await until(async () => ((await db('select 1 from lid_mappings where lid = ?', [`${lia.lid}@lid`])).length ? true : undefined), 'her LID in the map');
  sim.sendFromPhone(lia.number, BOT_NUMBER, '/login', { addressing: 'lid', withAlt: false });

  const [record] = await recordsUntil(lia.number, 1);
  assert.deepEqual([record!.outcome, record!.sender], ['issued', `${lia.lid}@lid`]);
  await until(() => tokensAt(lia.number)[0], 'the token at her phone');
  const inbound = await db(`select data->>'from' as "from" from events where type = 'message.received' and device_id = ? and data->>'fromLid' = ?`, [linked.id, `${lia.lid}@lid`]);
  assert.deepEqual(inbound.map((r) => r.from), [`${lia.lid}@lid`, `${lia.lid}@lid`], 'both arrived by LID alone');
});
