import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';

// Seed 004's creation and login answers carry the QR when the session shows one in time. The scan interval is
// long, so a QR in the answer shows that creating or logging in wakes the session hosts at once.
let sim: WhatsAppSimulator;
let platform: TestPlatform;
before(async () => {
  // Two QRs of 3 s each: an unscanned device gives up within the test.
  sim = new WhatsAppSimulator({ refsPerPairing: 2 });
  const { url } = await sim.listen();
  platform = await startTestPlatform({ WA_WEBSOCKET_URL: url, SESSION_SCAN_INTERVAL: '60s', SESSION_LEASE_TTL: '3s', QR_TIMEOUT: '3s', LOGIN_QR_WAIT: '15s' });
});
after(async () => {
  await platform.close();
  await sim.close();
});

test('creating a device answers with its first QR; login after the QRs ran out answers with a new one (raw and PNG); login when connected says so', { timeout: 90_000 }, async () => {
  const user = await createUser(platform, 'qr-answers');
  const created = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers: bearer(user.token), payload: { alias: 'front-desk' } });
  assert.equal(created.statusCode, 201, created.body);
  const body = created.json();
  assert.deepEqual(Object.keys(body).sort(), ['data', 'device', 'message', 'qr', 'success']);
  assert.equal(typeof body.qr, 'string');
  assert.match(body.message, /scan the QR code/);
  for (const field of ['id', 'userId', 'alias', 'sessionId', 'status', 'apiKey']) assert.ok(body.device[field] !== undefined, `device.${field}`);
  assert.deepEqual([body.device.userId, body.device.alias, body.device.status], ['qr-answers', 'front-desk', 'pending']);
  const { id } = body.device;
  const get = (url: string) => platform.request({ method: 'GET', url, headers: bearer(user.token) });

  await until(async () => ((await get(`/api/whatsapp/devices/${id}`)).json().data.status === 'disconnected' ? true : undefined), 'the QRs to run out');
  assert.equal((await get(`/api/whatsapp/devices/${id}/qr`)).statusCode, 409, 'no QR on screen');

  const login = await platform.request({ method: 'POST', url: `/api/whatsapp/devices/${id}/login`, headers: bearer(user.token) });
  assert.equal(login.statusCode, 200, login.body);
  const answer = login.json();
  assert.equal(typeof answer.qr, 'string');
  assert.notEqual(answer.qr, body.qr, 'a new QR');
  assert.match(answer.qrCode, /^data:image\/png;base64,/);
  assert.deepEqual([answer.status, answer.data.status, answer.data.id], ['pending', 'pending', id]);

  // Logging in again while a QR shows answers the one showing (the first, or the next if it rotated meanwhile on a
  // busy machine); then the phone scans it.
  const again = await platform.request({ method: 'POST', url: `/api/whatsapp/devices/${id}/login`, headers: bearer(user.token) });
  assert.equal(again.statusCode, 200, again.body);
  assert.equal(typeof again.json().qr, 'string');
  const phone = sim.createPhone('6281500000201');
  sim.scan(again.json().qr, phone.number);
  await until(async () => ((await get(`/api/whatsapp/devices/${id}`)).json().data.status === 'connected' ? true : undefined), 'connected');
  const connected = await platform.request({ method: 'POST', url: `/api/whatsapp/devices/${id}/login`, headers: bearer(user.token) });
  assert.equal(connected.statusCode, 200);
  assert.equal(connected.json().status, 'connected');
  assert.ok(!('qr' in connected.json()) && !('qrCode' in connected.json()), 'no QR for a connected device');
});
