import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../src/domain/errors.ts';
import { sendOutcomeOf, sendWaitOf } from '../../src/domain/send-wait.ts';

test('no wait unless asked: ?wait=sent waits 10 s, Prefer: wait=N waits N s (and wins over the default)', () => {
  assert.equal(sendWaitOf({}, undefined), undefined);
  assert.equal(sendWaitOf({}, 'return=minimal'), undefined, 'other preferences do not wait');
  assert.equal(sendWaitOf({ wait: 'sent' }, undefined), 10_000);
  assert.equal(sendWaitOf({}, 'wait=5'), 5000);
  assert.equal(sendWaitOf({}, 'respond-async, WAIT = 30'), 30_000, 'several preferences, any case, spaces');
  assert.equal(sendWaitOf({}, 'wait="2"; foo=bar'), 2000, 'a quoted value, parameters ignored');
  assert.equal(sendWaitOf({ wait: 'sent' }, 'wait=3'), 3000);
});

test('a wait out of range or not a number of seconds is refused', () => {
  for (const prefer of ['wait=0', 'wait=31', 'wait=-1', 'wait=1.5', 'wait=', 'wait', 'wait=ten', 'wait=99999999999']) {
    assert.throws(
      () => sendWaitOf({}, prefer),
      (err: unknown) => err instanceof AppError && err.code === 'VALIDATION_ERROR' && JSON.stringify(err.details).includes('headers.prefer'),
      prefer,
    );
  }
});

const at = (s: number) => new Date(Date.UTC(2026, 0, 3, 12, 0, s));
const fact = (type: string, s: number, data: Record<string, unknown> = {}) => ({ type, data, recordedAt: at(s) });

test('the outcome since the message was last queued: sent (a receipt ahead of the ack counts), failed, or nothing yet', () => {
  assert.equal(sendOutcomeOf([fact('message.queued', 0)]), undefined);
  assert.deepEqual(sendOutcomeOf([fact('message.queued', 0), fact('message.sent', 2)]), { kind: 'sent', status: 'sent', sentAt: at(2) });
  assert.deepEqual(sendOutcomeOf([fact('message.queued', 0), fact('message.delivered', 2), fact('message.sent', 3)]), { kind: 'sent', status: 'delivered', sentAt: at(3) });
  assert.deepEqual(sendOutcomeOf([fact('message.delivered', 4)]), { kind: 'sent', status: 'delivered', sentAt: at(4) }, 'a receipt alone');
  assert.deepEqual(sendOutcomeOf([fact('message.queued', 0), fact('message.sent', 1), fact('message.read', 3), fact('message.delivered', 4)]), {
    kind: 'sent',
    status: 'read',
    sentAt: at(1),
  });
  assert.deepEqual(sendOutcomeOf([fact('message.queued', 0), fact('message.failed', 5, { code: 'DEVICE_NOT_CONNECTED', reason: 'down' })]), {
    kind: 'failed',
    code: 'DEVICE_NOT_CONNECTED',
    reason: 'down',
  });
  const resent = [fact('message.queued', 0), fact('message.failed', 5, { code: 'MESSAGE_SEND_FAILED', reason: 'x' }), fact('message.queued', 6)];
  assert.equal(sendOutcomeOf(resent), undefined, 'a resend waits for its own outcome');
  assert.deepEqual(sendOutcomeOf([...resent, fact('message.sent', 7)]), { kind: 'sent', status: 'sent', sentAt: at(7) });
});
