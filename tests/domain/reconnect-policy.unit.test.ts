import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, decideReconnect, DISCONNECT } from '../../src/domain/reconnect-policy.ts';

const max = () => 0.999999;

test('515 reconnects at once', () => {
  assert.deepEqual(decideReconnect(DISCONNECT.restartRequired, 1, Math.random), { action: 'reconnect', delayMs: 0 });
});

test('408, 428, 500, 503 back off exponentially with jitter, up to a cap', () => {
  for (const code of [408, 428, 500, 503]) {
    const delays = [1, 2, 3, 4].map((attempt) => decideReconnect(code, attempt, max));
    assert.deepEqual(
      delays.map((d) => (d.action === 'reconnect' ? d.delayMs : -1)),
      [1000, 2000, 4000, 8000],
    );
  }
  assert.equal(backoffMs(30, max), 60_000, 'capped');
  assert.equal(backoffMs(3, () => 0), 0, 'full jitter reaches down to zero');
  assert.equal(backoffMs(3, () => 0.5), 2000);
});

test('440 stops and reports, without a reconnect loop', () => {
  assert.deepEqual(decideReconnect(440, 1, Math.random), { action: 'stop', reason: 'connection-replaced' });
});

test('401 and 403 log the device out; 411 needs a new pairing', () => {
  assert.deepEqual(decideReconnect(401, 1, Math.random), { action: 'logout', reason: 'logged-out' });
  assert.deepEqual(decideReconnect(403, 1, Math.random), { action: 'logout', reason: 'forbidden' });
  assert.deepEqual(decideReconnect(411, 1, Math.random), { action: 'repair', reason: 'multidevice-mismatch' });
});

test('an unknown reason is treated as transient', () => {
  const decision = decideReconnect(undefined, 2, () => 0.5);
  assert.deepEqual(decision, { action: 'reconnect', delayMs: 1000 });
});

test('408 before the device was ever linked means the QRs ran out: wait for a login instead of showing QRs forever', () => {
  assert.deepEqual(decideReconnect(408, 1, Math.random, { linked: false, showedQr: true }), { action: 'await-login', reason: 'qr-expired' });
  assert.equal(decideReconnect(408, 1, max, { linked: true, showedQr: false }).action, 'reconnect');
  assert.equal(decideReconnect(408, 1, max, { linked: false, showedQr: false }).action, 'reconnect', 'a connection that timed out before any QR');
  assert.equal(decideReconnect(428, 1, max, { linked: false, showedQr: true }).action, 'reconnect', 'a dropped socket is still transient');
});
