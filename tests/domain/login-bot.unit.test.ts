import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideBotLogin, humanDuration, isLoginCommand, loginReplyText, withinRate } from '../../src/domain/login-bot.ts';

const at = (seconds: number) => new Date(Date.UTC(2026, 11, 2, 10, 0, seconds));
const rule = { max: 3, windowMs: 600_000 };

test('the command is /login alone, in any case, blanks around it allowed', () => {
  for (const text of ['/login', ' /LOGIN ', '\n/Login\t']) assert.equal(isLoginCommand(text), true, JSON.stringify(text));
  for (const text of [undefined, '', 'login', '/login please', '/ login', '/logout', 'please /login']) assert.equal(isLoginCommand(text), false, JSON.stringify(text));
});

test('the rate window counts earlier requests inside it, not those before it nor after the one decided', () => {
  assert.equal(withinRate([], at(0), rule), true);
  assert.equal(withinRate([at(0), at(1)], at(2), rule), true, 'the third');
  assert.equal(withinRate([at(0), at(1), at(2)], at(3), rule), false, 'the fourth inside 10 minutes');
  assert.equal(withinRate([at(0), at(1), at(2)], at(600), rule), true, 'the first has left the window');
  assert.equal(withinRate([at(0), at(1), at(2)], at(601), rule), true);
  assert.equal(withinRate([at(1), at(2), at(3)], at(0), rule), true, 'later requests do not count against an earlier one');
});

test('a request is refused for its rate before anything is looked at, so refusals look alike whoever asks', () => {
  const base = { requestedAt: at(10), now: at(11), rule, ttlMs: 300_000 };
  const crowded = [at(0), at(1), at(2)];
  assert.equal(decideBotLogin({ ...base, earlier: [], user: { disabled: false } }), 'issued');
  assert.equal(decideBotLogin({ ...base, earlier: [], user: undefined }), 'unknown-number');
  assert.equal(decideBotLogin({ ...base, earlier: [], user: { disabled: true } }), 'user-disabled');
  for (const user of [undefined, { disabled: false }, { disabled: true }]) assert.equal(decideBotLogin({ ...base, earlier: crowded, user }), 'rate-limited');
  assert.equal(decideBotLogin({ ...base, now: at(311), earlier: [], user: { disabled: false } }), 'stale', 'answered after its token would have expired');
  assert.equal(decideBotLogin({ ...base, now: at(310), earlier: [], user: { disabled: false } }), 'issued', 'exactly the TTL late');
});

test('the reply names the token, its lifetime and how to exchange it', () => {
  assert.deepEqual([humanDuration(300_000), humanDuration(90_000), humanDuration(5_400_000), humanDuration(0)], ['5m', '1m 30s', '1h 30m', '0s']);
  const text = loginReplyText('wlt_abc', 300_000);
  assert.match(text, /one-time login token/);
  assert.match(text, /valid 5m/);
  assert.ok(text.includes('POST /api/auth/login {"token": "wlt_abc"}'));
  assert.equal(text.split('\n').filter((line) => line === 'wlt_abc').length, 1, 'the token on a line of its own, easy to copy');
});
