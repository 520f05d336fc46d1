import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// Without a reachable WhatsApp no QR comes: creation and login answer within LOGIN_QR_WAIT, leaving `qr` out
// (never `qr: null`: seed 004's clients test `if (data.qr)` and `'qr' in data`).
let platform: TestPlatform;
before(async () => {
  platform = await startTestPlatform({ LOGIN_QR_WAIT: '700ms' });
});
after(() => platform.close());

test('no QR in time: creation answers without `qr` and says where it follows; login answers 202 with the status', async () => {
  const user = await createUser(platform, 'no-whatsapp');
  const start = Date.now();
  const created = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers: bearer(user.token), payload: { alias: 'offline' } });
  assert.ok(Date.now() - start < 5000, 'bounded by the wait');
  assert.equal(created.statusCode, 201, created.body);
  assert.ok(!('qr' in created.json()), created.body);
  assert.match(created.json().message, /WebSocket/);
  const login = await platform.request({ method: 'POST', url: `/api/whatsapp/devices/${created.json().device.id}/login`, headers: bearer(user.token) });
  assert.equal(login.statusCode, 202, login.body);
  assert.ok(!('qr' in login.json()) && !('qrCode' in login.json()));
  assert.equal(login.json().data.id, created.json().device.id);
  assert.equal(typeof login.json().status, 'string');
});

test('LOGIN_QR_WAIT: 5 s by default, 0 answers at once, anything but a duration is refused', () => {
  assert.equal(loadConfig({}).loginQrWaitMs, 5000);
  assert.equal(loadConfig({ LOGIN_QR_WAIT: '0' }).loginQrWaitMs, 0);
  assert.throws(() => loadConfig({ LOGIN_QR_WAIT: 'soon' }), (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('LOGIN_QR_WAIT')));
});
