import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { ADMIN_TOKEN, API_TOKEN, bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { openSse } from '../helpers/sse.ts';
import { until } from '../helpers/wait.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';

// The whole platform (API, worker, session host) with the real Baileys client against the simulator.
let sim: WhatsAppSimulator;
let platform: TestPlatform;
let base: string;
before(async () => {
  // Three QRs of 2 s each: rotation and expiry happen within a test.
  sim = new WhatsAppSimulator({ refsPerPairing: 3 });
  const { url } = await sim.listen();
  platform = await startTestPlatform({ WA_WEBSOCKET_URL: url, SESSION_SCAN_INTERVAL: '200ms', SESSION_LEASE_TTL: '3s', QR_TIMEOUT: '2s' });
  base = await platform.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await platform.close();
  await sim.close();
});

test('create a device → its QR arrives on WebSocket, SSE and GET …/qr → the phone scans → connected everywhere', { timeout: 90_000 }, async () => {
  const user = await createUser(platform, 'device-owner');
  const phone = sim.createPhone('6281234567400');
  const sessionId = "user_device-owner_device_shop";

  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?token=${user.token}`);
  const wsMessages: { type: string; [k: string]: unknown }[] = [];
  ws.on('message', (raw) => wsMessages.push(JSON.parse(String(raw))));
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ type: 'subscribe', sessionId }));
  await until(() => wsMessages.find((m) => m.type === 'subscribed'), 'the subscription');
  const sseEvents: string[] = [];
  const sse = await openSse(`${base}/api/whatsapp/events/stream?sessionId=${sessionId}`, bearer(user.token), (m) => sseEvents.push(m.event!));

  const created = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers: bearer(user.token), payload: { alias: 'shop', metadata: { branch: 'north' } } });
  assert.equal(created.statusCode, 201, created.body);
  const { device } = created.json();
  assert.equal(device.sessionId, sessionId);
  assert.match(device.apiKey, /^dev_/);

  const qrs = await until(() => {
    const shown = wsMessages.filter((m) => m.type === 'qr');
    return shown.length >= 2 ? shown : undefined;
  }, 'a QR on the WebSocket, then the next as it rotates');
  assert.notEqual(qrs[0]!.qr, qrs[1]!.qr);
  const qrMessage = qrs.at(-1)!;
  await until(() => (sseEvents.filter((e) => e === 'device.qr-issued').length >= 2 ? true : undefined), 'both QRs on SSE');
  const qrRoute = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${device.id}/qr`, headers: bearer(user.token) });
  assert.equal(qrRoute.statusCode, 200);
  assert.match(qrRoute.json().qrCode, /^data:image\/png;base64,/);

  sim.scan(String(qrMessage.qr), phone.number);
  const connection = await until(() => wsMessages.find((m) => m.type === 'connection'), 'connected on the WebSocket');
  assert.deepEqual(connection, { type: 'connection', sessionId, status: 'connected', phoneNumber: `+${phone.number}` });
  await until(() => (sseEvents.includes('device.connected') ? true : undefined), 'connected on SSE');
  const shown = await until(async () => {
    const res = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${device.id}`, headers: bearer(user.token) });
    return res.json().data.status === 'connected' ? res.json().data : undefined;
  }, 'connected in GET /devices/{id}');
  assert.equal(shown.phoneNumber, `+${phone.number}`);
  assert.deepEqual(shown.metadata, { branch: 'north' });
  const asDevice = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${device.id}`, headers: { 'x-device-api-key': device.apiKey } });
  assert.equal(asDevice.statusCode, 200, 'the device key reads its own device');
  const connectedQr = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${device.id}/qr`, headers: bearer(user.token) });
  assert.equal(connectedQr.statusCode, 409);

  const listed = await platform.request({ method: 'GET', url: `/api/whatsapp/users/device-owner/devices`, headers: bearer(user.token) });
  assert.deepEqual(listed.json().data.map((d: { id: number }) => d.id), [device.id]);
  ws.close();
  sse.abort();
});

test("devices are per user: another user's device is 404, duplicates 409", async () => {
  const alice = await createUser(platform, 'device-alice');
  const bob = await createUser(platform, 'device-bob');
  const created = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers: bearer(alice.token), payload: { alias: 'a1' } });
  const { id } = created.json().device;
  for (const [method, url] of [['GET', `/api/whatsapp/devices/${id}`], ['DELETE', `/api/whatsapp/devices/${id}`], ['POST', `/api/whatsapp/devices/${id}/logout`], ['GET', `/api/whatsapp/users/${alice.username}/devices`]] as const) {
    const res = await platform.request({ method, url, headers: bearer(bob.token) });
    assert.equal(res.statusCode, 404, `${method} ${url}`);
  }
  const again = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers: bearer(alice.token), payload: { alias: 'a1' } });
  assert.equal(again.statusCode, 409);
  assert.equal(again.json().code, 'DEVICE_ALREADY_EXISTS');
  const forBob = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers: bearer(alice.token), payload: { alias: 'x', userId: bob.username } });
  assert.equal(forBob.statusCode, 404, 'a non-admin cannot create devices for someone else');
  const deleted = await platform.request({ method: 'DELETE', url: `/api/whatsapp/devices/${id}`, headers: bearer(alice.token) });
  assert.equal(deleted.statusCode, 200);
  assert.equal((await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${id}`, headers: bearer(alice.token) })).statusCode, 404);
});

test("seed 004 user ids: an admin's credential provisions the user it names; the session id spells it verbatim", async () => {
  const create = (headers: Record<string, string>, payload: object) => platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers, payload });
  const first = await create({ 'x-api-token': API_TOKEN }, { userId: 'test_user_123', alias: 'my-phone' });
  assert.equal(first.statusCode, 201, first.body);
  assert.equal(first.json().device.sessionId, 'user_test_user_123_device_my-phone');
  assert.equal(first.json().device.userId, 'test_user_123');
  const second = await create({ 'x-api-token': API_TOKEN }, { userId: 'test_user_123', alias: 'other-phone' });
  assert.equal(second.statusCode, 201, 'the provisioned user is reused');
  const listed = await platform.request({ method: 'GET', url: '/api/whatsapp/users/test_user_123/devices', headers: { 'x-api-token': API_TOKEN } });
  assert.deepEqual(listed.json().data.map((d: { alias: string }) => d.alias), ['my-phone', 'other-phone']);
  const users = await platform.request({ method: 'GET', url: '/api/whatsapp/admin/users?limit=200', headers: { 'x-admin-token': ADMIN_TOKEN } });
  const provisioned = users.json().data.items.find((u: { username: string }) => u.username === 'test_user_123');
  assert.equal(provisioned?.role, 'user', 'listed for the admin as an ordinary user');
  assert.equal(provisioned?.hasPassword, false);
  const audit = await platform.request({ method: 'GET', url: '/api/whatsapp/admin/audit?action=user.created', headers: { 'x-admin-token': ADMIN_TOKEN } });
  const records = audit.json().data.items.filter((e: { data: { username: string } }) => e.data.username === 'test_user_123');
  assert.deepEqual(records.map((e: { data: object }) => e.data), [{ userId: provisioned.id, username: 'test_user_123', role: 'user', provisioned: true }], 'provisioned once, audited once');
  const login = await platform.request({ method: 'POST', url: '/api/auth/login', payload: { username: 'test_user_123', password: 'anything-at-all' } });
  assert.equal(login.statusCode, 401, 'no password until an admin sets one');

  // A number is an identifier like any other, never our internal id.
  const numeric = await create({ 'x-api-token': API_TOKEN }, { userId: 123, alias: 'n' });
  assert.equal(numeric.json().device.sessionId, 'user_123_device_n');

  // Refused creations provision nobody.
  const duplicate = await create({ 'x-api-token': API_TOKEN }, { userId: 'dup_user', alias: 'my-phone' });
  assert.equal(duplicate.statusCode, 201);
  const again = await create({ 'x-api-token': API_TOKEN }, { userId: 'dup_user', alias: 'my-phone' });
  assert.equal(again.statusCode, 409);
  for (const userId of ['has space', 'a/b', '', 'x'.repeat(65), 'ümlaut']) {
    const bad = await create({ 'x-api-token': API_TOKEN }, { userId, alias: 'p' });
    assert.equal(bad.statusCode, 400, `userId ${JSON.stringify(userId)}`);
    assert.equal(bad.json().code, 'VALIDATION_ERROR');
  }
  const count = async () => (await platform.request({ method: 'GET', url: '/api/whatsapp/admin/users?limit=200', headers: { 'x-admin-token': ADMIN_TOKEN } })).json().data.items.length;
  const before = await count();
  const ordinary = await createUser(platform, 'plain-user');
  const foreign = await create(bearer(ordinary.token), { userId: 'someone_new', alias: 'p' });
  assert.equal(foreign.statusCode, 404, 'an ordinary user may only name itself');
  assert.equal(foreign.json().code, 'USER_NOT_FOUND');
  const own = await create(bearer(ordinary.token), { userId: 'plain-user', alias: 'p' });
  assert.equal(own.json().device.sessionId, 'user_plain-user_device_p');
  assert.equal(await count(), before + 1, 'only plain-user itself was added');
  const theirs = await platform.request({ method: 'GET', url: '/api/whatsapp/users/test_user_123/devices', headers: bearer(ordinary.token) });
  assert.equal(theirs.statusCode, 404);
});

test("seed 003: create a session, connect it, get its QR on /api/ws/{id}, scan, see it connected; disconnect it", { timeout: 90_000 }, async () => {
  const user = await createUser(platform, 'seed3-owner');
  const phone = sim.createPhone('6281234567401');
  const created = await platform.request({ method: 'POST', url: '/api/sessions', headers: bearer(user.token), payload: { name: 'Business Support' } });
  assert.equal(created.statusCode, 201, created.body);
  const session = created.json();
  assert.deepEqual([session.name, session.alias, session.connected, session.logged_in], ['Business Support', 'Business-Support', false, false]);

  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/ws/${session.id}?token=${user.token}`);
  const messages: { type: string; data: Record<string, unknown> }[] = [];
  ws.on('message', (raw) => messages.push(JSON.parse(String(raw))));
  await new Promise((resolve) => ws.once('open', resolve));
  await new Promise((resolve) => setTimeout(resolve, 100));

  const connect = await platform.request({ method: 'POST', url: `/api/sessions/${session.id}/connect`, headers: bearer(user.token) });
  assert.equal(connect.statusCode, 200);
  const qr = await until(() => messages.find((m) => m.type === 'qr'), 'a QR on the seed 003 WebSocket');
  sim.scan(String(qr.data.qr), phone.number);
  const success = await until(() => messages.find((m) => m.type === 'success'), 'success on the seed 003 WebSocket');
  assert.equal(success.data.phoneNumber, `+${phone.number}`);

  const listed = await until(async () => {
    const [s] = (await platform.request({ method: 'GET', url: '/api/sessions', headers: bearer(user.token) })).json();
    return s?.connected ? s : undefined;
  }, 'connected in GET /api/sessions');
  assert.deepEqual([listed.logged_in, listed.phone], [true, phone.number]);

  await platform.request({ method: 'POST', url: `/api/sessions/${session.id}/disconnect`, headers: bearer(user.token) });
  const after = await until(async () => {
    const s = (await platform.request({ method: 'GET', url: `/api/sessions/${session.id}`, headers: bearer(user.token) })).json();
    return s.connected ? undefined : s;
  }, 'disconnected');
  assert.deepEqual([after.status, after.logged_in], ['disconnected', true], 'still linked: connect brings it back without a QR');
  ws.close();
});

test('link by pairing code: the API returns the code, the phone types it, the device is connected; bad numbers and connected devices refused', { timeout: 90_000 }, async () => {
  const user = await createUser(platform, 'code-owner');
  const phone = sim.createPhone('6281234567402');
  const sseEvents: string[] = [];
  const sse = await openSse(`${base}/api/whatsapp/events/stream?types=device.pairing-code-issued`, bearer(user.token), (m) => sseEvents.push(m.data));
  const created = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers: bearer(user.token), payload: { alias: 'by-code' } });
  const { id } = created.json().device;
  const ask = (phoneNumber: string) =>
    platform.request({ method: 'POST', url: `/api/whatsapp/devices/${id}/pairing-code`, headers: bearer(user.token), payload: { phoneNumber } });

  const invalid = await ask('0812-34');
  assert.equal(invalid.statusCode, 400);
  assert.equal(invalid.json().code, 'INVALID_PHONE_NUMBER');

  const asked = await ask(`+${phone.number.slice(0, 2)} ${phone.number.slice(2)}`);
  assert.equal(asked.statusCode, 200, asked.body);
  const { pairingCode, phoneNumber } = asked.json().data;
  assert.match(pairingCode, /^[A-Z0-9]{8}$/);
  assert.equal(phoneNumber, `+${phone.number}`);
  await until(() => (sseEvents.some((data) => JSON.parse(data).data.code === pairingCode) ? true : undefined), 'the code on SSE');

  await sim.enterPairingCode(phone.number, pairingCode);
  const shown = await until(async () => {
    const res = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${id}`, headers: bearer(user.token) });
    return res.json().data.status === 'connected' ? res.json().data : undefined;
  }, 'connected after the code');
  assert.equal(shown.phoneNumber, `+${phone.number}`);

  const again = await ask(phone.number);
  assert.equal(again.statusCode, 409);
  assert.equal(again.json().code, 'DEVICE_ALREADY_CONNECTED');
  sse.abort();
});

test('QRs nobody scans run out: the device is reported disconnected (qr-expired), no QR is served, and login brings fresh ones', { timeout: 90_000 }, async () => {
  const user = await createUser(platform, 'qr-expiry');
  const created = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers: bearer(user.token), payload: { alias: 'unscanned' } });
  const { id } = created.json().device;
  const eventsOf = async (type: string) =>
    (await platform.request({ method: 'GET', url: `/api/whatsapp/events?deviceId=${id}&types=${type}`, headers: bearer(user.token) })).json().data.items;
  const [expired] = await until(async () => {
    const closed = await eventsOf('device.disconnected');
    return closed.length ? closed : undefined;
  }, 'the QRs to run out', 30_000);
  assert.equal(expired.data.reason, 'qr-expired');
  const qrCount = (await eventsOf('device.qr-issued')).length;
  assert.equal(qrCount, 3, 'one per ref');
  const qr = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${id}/qr`, headers: bearer(user.token) });
  assert.equal(qr.statusCode, 409);
  const device = await until(async () => {
    const res = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${id}`, headers: bearer(user.token) });
    return res.json().data.status === 'disconnected' ? res.json().data : undefined;
  }, 'disconnected in GET /devices/{id}');
  assert.equal(device.status, 'disconnected');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal((await eventsOf('device.qr-issued')).length, qrCount, 'no QRs while nobody asks');

  await platform.request({ method: 'POST', url: `/api/whatsapp/devices/${id}/login`, headers: bearer(user.token) });
  await until(async () => ((await eventsOf('device.qr-issued')).length > qrCount ? true : undefined), 'fresh QRs after login');
  await platform.request({ method: 'POST', url: `/api/whatsapp/devices/${id}/logout`, headers: bearer(user.token) });
});
