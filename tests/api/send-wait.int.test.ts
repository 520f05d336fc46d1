import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bearer, createUser, startTestPlatform } from '../helpers/platform.ts';

// A server shutting down does not hold waiting sends until their time runs out: they answer 202 `timedOut` at once
// (the message is in the log and goes out when a worker runs again).
test('shutdown cuts a wait short with 202 timedOut and the message id', { timeout: 60_000 }, async () => {
  const platform = await startTestPlatform({ LOGIN_QR_WAIT: '0' });
  let closed = false;
  try {
    const user = await createUser(platform, 'shutting-down');
    const created = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers: bearer(user.token), payload: { alias: 'unreachable' } });
    const waiting = platform.request({
      method: 'POST',
      url: '/api/whatsapp/send',
      headers: { ...bearer(user.token), prefer: 'wait=30' },
      payload: { sessionId: created.json().device.sessionId, phoneNumber: '6281700000001', message: 'Still going' },
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const start = Date.now();
    const closing = platform.close();
    const res = await waiting;
    assert.ok(Date.now() - start < 10_000, `answered at shutdown (${Date.now() - start} ms)`);
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual([res.json().data.status, res.json().data.timedOut], ['queued', true]);
    assert.match(res.json().data.messageId, /^msg_/);
    await closing;
    closed = true;
  } finally {
    if (!closed) await platform.close();
  }
});
