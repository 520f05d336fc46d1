import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FIRST_WAIT_MS, loginWait, MAX_WAIT_MS, type RecentAttempt } from '../../src/domain/login-throttle.ts';

const rule = { max: 3, windowMs: 3_600_000 };
const now = new Date('2026-12-02T10:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const failed = (msAgo: number): RecentAttempt => ({ succeeded: false, at: ago(msAgo) });

test('fewer failures than the rule allows: no wait', () => {
  assert.equal(loginWait([failed(1000), failed(2000)], now, rule), 0);
  assert.equal(loginWait([], now, rule), 0);
});

test('at the limit the next attempt waits from the last failure, doubling with each further one, up to the cap', () => {
  assert.equal(loginWait([failed(1000), failed(2000), failed(3000)], now, rule), FIRST_WAIT_MS - 1000);
  assert.equal(loginWait([failed(0), failed(1), failed(2), failed(3)], now, rule), 2 * FIRST_WAIT_MS);
  assert.equal(loginWait(Array.from({ length: 30 }, (_, i) => failed(i)), now, rule), MAX_WAIT_MS);
  // The wait is over: the attempt goes ahead.
  assert.equal(loginWait([failed(FIRST_WAIT_MS), failed(FIRST_WAIT_MS + 1), failed(FIRST_WAIT_MS + 2)], now, rule), 0);
});

test('a success resets the count; failures older than the window do not count', () => {
  assert.equal(loginWait([failed(1), { succeeded: true, at: ago(2) }, failed(3), failed(4)], now, rule), 0);
  assert.equal(loginWait([failed(1), failed(2), failed(rule.windowMs + 1)], now, rule), 0);
});
