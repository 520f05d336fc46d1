import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  actionFor,
  decideTransition,
  fillValues,
  gapMs,
  nextConversation,
  nextSlot,
  scheduleProblem,
  slotStart,
  stepAfter,
  zonedInstant,
  type ScriptStep,
  type WarmerSchedule,
} from '../../src/domain/warmer.ts';

const schedule: WarmerSchedule = {
  startDate: '2026-01-04',
  endDate: '2026-01-05',
  timesPerDay: [
    { time: '14:00', count: 3 },
    { time: '09:00', count: 2 },
  ],
};

test('wall-clock times become instants in the time zone, across summer time and day boundaries', () => {
  assert.equal(zonedInstant('2026-01-04', '09:00', 'UTC').toISOString(), '2026-01-04T09:00:00.000Z');
  assert.equal(zonedInstant('2026-01-04', '09:00', 'Asia/Jakarta').toISOString(), '2026-01-04T02:00:00.000Z');
  // Jakarta's early morning is the day before in UTC.
  assert.equal(zonedInstant('2026-01-04', '05:30:15', 'Asia/Jakarta').toISOString(), '2026-01-03T22:30:15.000Z');
  assert.equal(zonedInstant('2026-01-04', '23:00', 'America/New_York').toISOString(), '2026-01-05T04:00:00.000Z');
  // New York in summer is four hours behind, not five.
  assert.equal(zonedInstant('2026-07-04', '09:00', 'America/New_York').toISOString(), '2026-07-04T13:00:00.000Z');
  // 02:30 does not exist on the morning clocks go forward: it reads as 03:30 summer time.
  assert.equal(zonedInstant('2026-03-08', '02:30', 'America/New_York').toISOString(), '2026-03-08T07:30:00.000Z');
});

test('slots are the day’s times in order, on each day from the start to the end date', () => {
  assert.equal(slotStart(schedule, 'UTC', 0, 0).toISOString(), '2026-01-04T09:00:00.000Z');
  assert.equal(slotStart(schedule, 'UTC', 0, 1).toISOString(), '2026-01-04T14:00:00.000Z');
  assert.equal(slotStart(schedule, 'UTC', 1, 0).toISOString(), '2026-01-05T09:00:00.000Z');
  const first = nextSlot(schedule, 'UTC', undefined, new Date('2026-01-01T00:00:00Z'));
  assert.deepEqual(first, { day: 0, slot: 0, at: new Date('2026-01-04T09:00:00Z') });
  assert.deepEqual(nextSlot(schedule, 'UTC', { day: 0, slot: 0 }, new Date('2026-01-04T09:05:00Z')), { day: 0, slot: 1, at: new Date('2026-01-04T14:00:00Z') });
  // From the day's last slot to the next day's first.
  assert.deepEqual(nextSlot(schedule, 'UTC', { day: 0, slot: 1 }, new Date('2026-01-04T14:30:00Z')), { day: 1, slot: 0, at: new Date('2026-01-05T09:00:00Z') });
  // Slots that passed meanwhile are skipped.
  assert.deepEqual(nextSlot(schedule, 'UTC', { day: 0, slot: 0 }, new Date('2026-01-05T10:00:00Z')), { day: 1, slot: 1, at: new Date('2026-01-05T14:00:00Z') });
  // Past the end date: nothing.
  assert.equal(nextSlot(schedule, 'UTC', { day: 1, slot: 1 }, new Date('2026-01-05T14:30:00Z')), undefined);
  assert.equal(nextSlot(schedule, 'UTC', undefined, new Date('2026-01-05T14:00:01Z')), undefined);
  // In Jakarta the same schedule runs seven hours earlier.
  assert.deepEqual(nextSlot(schedule, 'Asia/Jakarta', undefined, new Date('2026-01-04T06:59:00Z')), { day: 0, slot: 1, at: new Date('2026-01-04T07:00:00Z') });
});

test('conversations of a slot follow each other by the gap, up to its count; then the next slot', () => {
  const now = new Date('2026-01-04T09:10:00Z');
  assert.deepEqual(nextConversation(schedule, 'UTC', undefined, new Date('2026-01-04T08:00:00Z'), 5000), { day: 0, slot: 0, conversation: 0, at: new Date('2026-01-04T09:00:00Z') });
  assert.deepEqual(nextConversation(schedule, 'UTC', { day: 0, slot: 0, conversation: 0, step: 3 }, now, 5000), { day: 0, slot: 0, conversation: 1, at: new Date('2026-01-04T09:10:05Z') });
  // 09:00 has two conversations: after the second comes 14:00's first.
  assert.deepEqual(nextConversation(schedule, 'UTC', { day: 0, slot: 0, conversation: 1, step: 2 }, now, 5000), { day: 0, slot: 1, conversation: 0, at: new Date('2026-01-04T14:00:00Z') });
  assert.deepEqual(nextConversation(schedule, 'UTC', { day: 0, slot: 1, conversation: 1, step: 0 }, new Date('2026-01-04T14:10:00Z'), 0)?.conversation, 2);
  assert.equal(nextConversation(schedule, 'UTC', { day: 1, slot: 1, conversation: 2, step: 0 }, new Date('2026-01-05T14:20:00Z'), 0), undefined);
});

test('steps: the user side only when the target answers; a skipped step’s delay still passes', () => {
  const steps: ScriptStep[] = [
    { sender: 'bot', message: 'a', delay: 1000 },
    { sender: 'user', message: 'b', delay: 3000 },
    { sender: 'bot', message: 'c', delay: 2000 },
    { sender: 'user', message: 'd', delay: 500 },
  ];
  assert.deepEqual(stepAfter(steps, -1, true), { step: 0, delayMs: 1000 });
  assert.deepEqual(stepAfter(steps, 0, true), { step: 1, delayMs: 3000 });
  assert.deepEqual(stepAfter(steps, 0, false), { step: 2, delayMs: 5000 });
  assert.deepEqual(stepAfter(steps, 2, true), { step: 3, delayMs: 500 });
  assert.equal(stepAfter(steps, 2, false), undefined);
  assert.equal(stepAfter(steps, 3, true), undefined);
});

test('schedules: dates real and in order, times unique, at most a year', () => {
  assert.equal(scheduleProblem(schedule), undefined);
  assert.equal(scheduleProblem({ ...schedule, startDate: '2026-01-19', endDate: '2026-01-18' }), 'schedule.startDate must not be after schedule.endDate');
  assert.match(scheduleProblem({ ...schedule, startDate: '2026-02-30' })!, /not a date/);
  assert.match(scheduleProblem({ ...schedule, endDate: '2027-06-01' })!, /at most 366 days/);
  assert.match(scheduleProblem({ ...schedule, timesPerDay: [{ time: '09:00', count: 1 }, { time: '09:00:00', count: 2 }] })!, /twice/);
  assert.equal(scheduleProblem({ ...schedule, startDate: '2026-01-04', endDate: '2026-01-04' }), undefined);
});

test('gaps, transitions and values', () => {
  const settings = { randomizeDelay: true, minDelay: 300, maxDelay: 900, naturalTyping: true };
  assert.equal(gapMs(settings, 0), 300_000);
  assert.equal(gapMs(settings, 0.5), 600_000);
  assert.equal(gapMs({ ...settings, randomizeDelay: false }, 0.9), 300_000);
  assert.deepEqual(decideTransition('draft', 'start'), { to: 'active' });
  assert.deepEqual(decideTransition('active', 'pause'), { to: 'paused' });
  assert.deepEqual(decideTransition('paused', 'resume'), { to: 'active' });
  assert.deepEqual(decideTransition('paused', 'stop'), { to: 'stopped' });
  for (const [status, action] of [['active', 'resume'], ['paused', 'pause'], ['stopped', 'start'], ['stopped', 'stop'], ['completed', 'resume'], ['draft', 'pause']] as const) {
    assert.ok('refused' in decideTransition(status, action), `${status} ${action}`);
  }
  assert.equal(actionFor('draft', 'active'), 'start');
  assert.equal(actionFor('paused', 'active'), 'resume');
  assert.equal(actionFor('active', 'active'), undefined);
  assert.equal(actionFor('active', 'stopped'), 'stop');
  const script = { name: 's', variables: ['productName', 'price'], messages: [{ sender: 'bot' as const, message: 'Is {productName} {price}? {other}', delay: 0 }] };
  const values = fillValues(script, { price: '$5' }, '1:0');
  assert.equal(values.price, '$5');
  assert.ok(values.productName && values.other);
  assert.deepEqual(fillValues(script, { price: '$5' }, '1:0'), values, 'the same seed fills the same values');
});
