import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptsAllowed, deliveryIdOf, matchesEventFilter, parseRetryAfter, publicNameOf, retryDelayMs, wantsEvent } from '../../src/domain/webhooks.ts';

test('event filters: *, seed 004 names, our own types and prefixes', () => {
  assert.equal(publicNameOf('message.received'), 'message');
  assert.equal(publicNameOf('device.qr-issued'), 'qr');
  assert.equal(publicNameOf('message.read'), 'status');
  assert.equal(publicNameOf('campaign.completed'), 'campaign.completed');
  assert.ok(matchesEventFilter(['*'], 'campaign.created'));
  assert.ok(matchesEventFilter(['message'], 'message.received'));
  assert.ok(!matchesEventFilter(['message'], 'message.sent'));
  assert.ok(matchesEventFilter(['status'], 'message.sent'));
  assert.ok(matchesEventFilter(['connection'], 'device.logged-out'));
  assert.ok(matchesEventFilter(['message.*'], 'message.queued'));
  assert.ok(!matchesEventFilter(['message.*'], 'device.connected'));
  assert.ok(matchesEventFilter(['device.connected'], 'device.connected'));
});

test('an endpoint receives its owner’s events, of its device when scoped, never webhook bookkeeping', () => {
  const endpoint = { userId: 7, deviceId: null, format: 'standard' as const, events: ['*'] };
  const event = (type: string, tenantId = 7, deviceId = 3) => ({ type, metadata: { tenantId, deviceId } });
  assert.ok(wantsEvent(endpoint, event('message.received')));
  assert.ok(!wantsEvent(endpoint, event('message.received', 8)), 'another tenant');
  assert.ok(!wantsEvent(endpoint, event('webhook.attempted')), 'no webhooks about webhooks');
  assert.ok(!wantsEvent({ ...endpoint, deviceId: 4 }, event('message.received')), 'another device');
  assert.ok(wantsEvent({ ...endpoint, deviceId: 3 }, event('message.received')));
  assert.ok(!wantsEvent({ ...endpoint, format: 'seed003' }, event('message.sent')), 'seed 003 knows received messages only');
  assert.ok(wantsEvent({ ...endpoint, format: 'seed003' }, event('message.received')));
  assert.ok(!wantsEvent(endpoint, event('message.received'), ['status']), 'a narrower filter of a replay');
});

test('retries: attempts allowed, the schedule with jitter, past its end, and Retry-After', () => {
  const schedule = [5000, 300_000, 1_800_000];
  assert.equal(attemptsAllowed({ retryOnFailure: false, maxRetries: 5 }, schedule), 1);
  assert.equal(attemptsAllowed({ retryOnFailure: true }, schedule), 4);
  assert.equal(attemptsAllowed({ retryOnFailure: true, maxRetries: 3 }, schedule), 4);
  assert.equal(attemptsAllowed({ retryOnFailure: true, maxRetries: 0 }, schedule), 1);
  assert.equal(retryDelayMs(1, schedule, 0.2, 0.5), 5000);
  assert.equal(retryDelayMs(1, schedule, 0.2, 0), 4000);
  assert.equal(retryDelayMs(1, schedule, 0.2, 1), 6000);
  assert.equal(retryDelayMs(2, schedule, 0, 0.3), 300_000);
  assert.equal(retryDelayMs(9, schedule, 0, 0.3), 1_800_000, 'past the end: the last delay again');
  assert.equal(retryDelayMs(1, schedule, 0.2, 0.9, 42_000), 42_000, 'Retry-After wins');
  const now = new Date('2026-11-22T10:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter('Sun, 22 Nov 2026 10:01:00 GMT', now), 60_000);
  assert.equal(parseRetryAfter('9999999', now), 86_400_000, 'at most a day');
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('delivery ids are stable per (endpoint, event) and distinct per replay', () => {
  assert.equal(deliveryIdOf('whe_1', 'e1'), deliveryIdOf('whe_1', 'e1'));
  assert.notEqual(deliveryIdOf('whe_1', 'e1'), deliveryIdOf('whe_2', 'e1'));
  assert.notEqual(deliveryIdOf('whe_1', 'e1'), deliveryIdOf('whe_1', 'e1', 'rpl_1'));
  assert.match(deliveryIdOf('whe_1', 'e1'), /^dlv_[0-9a-f]{32}$/);
});
