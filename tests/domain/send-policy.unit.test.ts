import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  capsOn,
  dayIn,
  daysBetween,
  decide,
  DEFAULT_NEW_CONTACTS_RAMP,
  DEFAULT_POLICY,
  healthScore,
  levelOf,
  minutesUntilOpen,
  pauseToEnter,
  type PolicySettings,
  type SendFacts,
} from '../../src/domain/send-policy.ts';

const settings: PolicySettings = { ...DEFAULT_POLICY, warmupFrom: '2026-12-01', timeZone: 'UTC' };
const now = new Date('2026-12-03T10:00:00Z');
const facts = (over: Partial<SendFacts> = {}): SendFacts => ({
  kind: 'message',
  firstContact: false,
  sentToday: 0,
  firstContactsToday: 0,
  ageDays: 2,
  score: 0,
  pause: null,
  firstContactsPausedUntil: null,
  heldByOwner: false,
  minuteOfDay: 600,
  msToNextDay: 14 * 3_600_000,
  ...over,
});
const at = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000);

test('the ramps: baileys-antiban’s ×1.8 sends a day, the published new-contact schedule, then the caps', () => {
  assert.deepEqual(DEFAULT_POLICY.ramp, [20, 36, 65, 117, 210, 378, 680]);
  assert.deepEqual([DEFAULT_NEW_CONTACTS_RAMP[0], DEFAULT_NEW_CONTACTS_RAMP[2], DEFAULT_NEW_CONTACTS_RAMP[6], DEFAULT_NEW_CONTACTS_RAMP[13], DEFAULT_NEW_CONTACTS_RAMP[20]], [2, 5, 25, 59, 86]);
  assert.equal(DEFAULT_NEW_CONTACTS_RAMP.length, 21);
  assert.deepEqual(capsOn(settings, 0), { daily: 20, newContacts: 2 });
  assert.deepEqual(capsOn(settings, 6), { daily: 680, newContacts: DEFAULT_NEW_CONTACTS_RAMP[6] });
  assert.deepEqual(capsOn(settings, 400), { daily: 1500, newContacts: 100 });
  assert.deepEqual(capsOn(settings, null), { daily: 1500, newContacts: 100 }, 'no ramp for an old number');
});

test('days and hours in the policy’s time zone', () => {
  assert.deepEqual(dayIn('Asia/Jakarta', new Date('2026-12-03T18:30:00Z')), { day: '2026-12-04', minuteOfDay: 90, msToNextDay: 22.5 * 3_600_000 });
  assert.equal(daysBetween('2026-12-01', '2026-12-04'), 3);
  assert.equal(minutesUntilOpen({ start: '08:00', end: '21:00' }, 7 * 60), 60);
  assert.equal(minutesUntilOpen({ start: '08:00', end: '21:00' }, 12 * 60), 0);
  assert.equal(minutesUntilOpen({ start: '22:00', end: '06:00' }, 23 * 60), 0, 'a window past midnight');
  assert.equal(minutesUntilOpen({ start: '22:00', end: '06:00' }, 7 * 60), 15 * 60);
});

test('health: weights decay 2 a minute; disconnects and failures count as runs; levels', () => {
  assert.equal(healthScore([{ kind: 'reach-out-locked', at: at(0) }], now), 25);
  assert.equal(healthScore([{ kind: 'reach-out-locked', at: at(5) }], now), 15);
  assert.equal(healthScore([{ kind: 'reach-out-locked', at: at(30) }], now), 0);
  assert.equal(healthScore([{ kind: 'disconnected', at: at(3) }, { kind: 'disconnected', at: at(2) }], now), 0, 'two drops are no run');
  assert.equal(healthScore([3, 2, 1].map((m) => ({ kind: 'disconnected' as const, at: at(m) })), now), 28, 'the third completes the run (+30, 1 minute ago)');
  assert.equal(healthScore([1, 1, 1, 1, 1].map(() => ({ kind: 'send-failed' as const, at: at(0) })), now), 20);
  assert.deepEqual([0, 15, 40, 80].map(levelOf), ['good', 'slowed', 'paused', 'stopped']);
});

test('pauses: entered at 40 and 80 for their time, a higher level replacing a lower one, none re-entered while one runs', () => {
  const quick = { ...settings, pauseSeconds: 60, stopSeconds: 600 };
  const paused = pauseToEnter(quick, 45, null, now)!;
  assert.deepEqual([paused.level, paused.until.getTime() - now.getTime()], ['paused', 60_000]);
  assert.equal(pauseToEnter(quick, 50, paused, now), undefined);
  assert.equal(pauseToEnter(quick, 85, paused, now)!.level, 'stopped');
  assert.equal(pauseToEnter(quick, 30, null, now), undefined);
  assert.equal(pauseToEnter(quick, 45, { ...paused, until: at(1) }, now)!.level, 'paused', 'a lapsed pause is over');
});

test('decide: caps, first contacts, pauses and hours hold messages with a reason; replies to people who wrote last go first', () => {
  const recheck = 30_000;
  assert.deepEqual(decide(settings, facts(), now, recheck), { send: true, slowed: false });
  assert.deepEqual(decide(settings, facts({ score: 20 }), now, recheck), { send: true, slowed: true });
  const capped = decide(settings, facts({ sentToday: 65 }), now, recheck);
  assert.deepEqual(capped.send === false && [capped.code, capped.reason, capped.retryInMs], ['DAILY_CAP', '65 sent today, the cap on day 3 of the warm-up is 65', recheck]);
  const newCap = decide(settings, facts({ firstContact: true, firstContactsToday: 5 }), now, recheck);
  assert.equal(newCap.send === false && newCap.code, 'NEW_CONTACTS_CAP');
  assert.equal(decide(settings, facts({ firstContactsToday: 5 }), now, recheck).send, true, 'an existing chat is no new contact');
  const locked = decide(settings, facts({ firstContact: true, firstContactsPausedUntil: new Date(now.getTime() + 5000) }), now, recheck);
  assert.deepEqual(locked.send === false && [locked.code, locked.retryInMs], ['FIRST_CONTACTS_PAUSED', 5000]);
  const pause = { level: 'paused' as const, until: new Date(now.getTime() + 60_000), reason: 'health' };
  assert.equal(decide(settings, facts({ kind: 'bulk', pause }), now, recheck).send, false);
  assert.equal(decide(settings, facts({ kind: 'reply', pause }), now, recheck).send, true, 'a reply goes while paused');
  assert.equal(decide(settings, facts({ kind: 'reply', firstContact: true, pause }), now, recheck).send, false);
  assert.equal(decide(settings, facts({ kind: 'reply', pause: { ...pause, level: 'stopped' } }), now, recheck).send, false, 'stopped holds replies too');
  assert.equal(decide(settings, facts({ kind: 'bulk', pause: { ...pause, until: at(1) } }), now, recheck).send, true, 'a lapsed pause holds nothing');
  const hours = { ...settings, sendingHours: { start: '11:00', end: '20:00' } };
  const early = decide(hours, facts(), now, 10 * 3_600_000);
  assert.deepEqual(early.send === false && [early.code, early.retryInMs], ['OUTSIDE_SENDING_HOURS', 3_600_000]);
  assert.equal(decide(hours, facts({ kind: 'reply' }), now, recheck).send, true);
  const owner = decide(settings, facts({ kind: 'reply', heldByOwner: true }), now, recheck);
  assert.equal(owner.send === false && owner.code, 'HELD_BY_OWNER');
});
