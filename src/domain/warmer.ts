// The warmer's rules that need no I/O: a campaign's slots (each `timesPerDay` entry on each day from `startDate` to
// `endDate`, in a time zone), where a campaign goes after a step or a conversation, which status an action leads to,
// and the values a script's `{variables}` are filled with. Times and random numbers are passed in.

import { wallClockIn } from './wall-clock.ts';

export interface DailySlot {
  // `HH:MM`, or `HH:MM:SS` for schedules compressed into minutes (tests, trials).
  time: string;
  count: number;
}

export interface WarmerSchedule {
  startDate: string;
  endDate: string;
  timesPerDay: DailySlot[];
}

export interface WarmerSettings {
  randomizeDelay: boolean;
  // Seconds between one conversation's end and the next one's start (randomized within min..max, else min).
  minDelay: number;
  maxDelay: number;
  naturalTyping: boolean;
}

export interface ScriptStep {
  sender: 'bot' | 'user';
  message: string;
  // Milliseconds to wait after the step before (or after the conversation's start, for its first step).
  delay: number;
}

export interface Script {
  name: string;
  messages: ScriptStep[];
  variables: string[];
}

// Where a campaign is: the step of the conversation of a slot (`slot` indexes the day's times in order) of a day
// (counted from `startDate`, from 0).
export interface Cursor {
  day: number;
  slot: number;
  conversation: number;
  step: number;
}

export type WarmerStatus = 'draft' | 'active' | 'paused' | 'stopped' | 'completed';
export type WarmerAction = 'start' | 'pause' | 'resume' | 'stop';

export const MAX_CAMPAIGN_DAYS = 366;
export const TIME_OF_DAY = '^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$';
const DAY_MS = 86_400_000;

const dayNumber = (date: string) => {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const at = Date.UTC(y, m - 1, d);
  // 2026-02-30 rolls over to March: not a date.
  return new Date(at).toISOString().slice(0, 10) === date ? at / DAY_MS : undefined;
};

const dateOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

// What is wrong with a schedule, in a sentence; undefined when nothing is.
export function scheduleProblem(schedule: WarmerSchedule): string | undefined {
  const start = dayNumber(schedule.startDate);
  const end = dayNumber(schedule.endDate);
  if (start === undefined) return `schedule.startDate ${schedule.startDate} is not a date`;
  if (end === undefined) return `schedule.endDate ${schedule.endDate} is not a date`;
  if (start > end) return 'schedule.startDate must not be after schedule.endDate';
  if (end - start + 1 > MAX_CAMPAIGN_DAYS) return `a campaign lasts at most ${MAX_CAMPAIGN_DAYS} days`;
  const times = schedule.timesPerDay.map((slot) => normalTime(slot.time));
  if (new Set(times).size !== times.length) return 'schedule.timesPerDay names a time twice';
  return undefined;
}

const normalTime = (time: string) => (time.length === 5 ? `${time}:00` : time);

// The day's times in order: slot numbers index this.
export function slotsOf(schedule: WarmerSchedule): DailySlot[] {
  return [...schedule.timesPerDay].sort((a, b) => normalTime(a.time).localeCompare(normalTime(b.time)));
}

// How far a time zone is ahead of UTC at an instant, in milliseconds.
function offsetAt(instant: number, timeZone: string): number {
  const { year, month, day, hour, minute, second } = wallClockIn(timeZone, new Date(instant));
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  return wall - Math.floor(instant / 1000) * 1000;
}

// The instant a wall-clock time of a date has in a time zone. A time skipped by a change to summer time comes out an
// hour later, as a person setting a clock would read it.
export function zonedInstant(date: string, time: string, timeZone: string): Date {
  const [h, m, s = 0] = time.split(':').map(Number) as [number, number, number?];
  const wall = dayNumber(date)! * DAY_MS + ((h * 60 + m) * 60 + s) * 1000;
  const first = wall - offsetAt(wall, timeZone);
  const offset = offsetAt(first, timeZone);
  if (wall - first === offset) return new Date(first);
  const second = wall - offset;
  // In a gap neither offset reads back as the wall time: the later instant is the clock set forward.
  return new Date(offsetAt(second, timeZone) === offset ? second : Math.max(first, second));
}

export function slotStart(schedule: WarmerSchedule, timeZone: string, day: number, slot: number): Date {
  return zonedInstant(dateOf(dayNumber(schedule.startDate)! + day), slotsOf(schedule)[slot]!.time, timeZone);
}

// The first slot after `after` (from the first, without it) that has not begun before `now`: slots that passed
// while the campaign was stopped or busy are skipped, not made up for. Undefined past the end date.
export function nextSlot(schedule: WarmerSchedule, timeZone: string, after: Pick<Cursor, 'day' | 'slot'> | undefined, now: Date): { day: number; slot: number; at: Date } | undefined {
  const slots = slotsOf(schedule).length;
  const days = dayNumber(schedule.endDate)! - dayNumber(schedule.startDate)! + 1;
  let day = after?.day ?? 0;
  let slot = after ? after.slot + 1 : 0;
  for (; day < days; day++, slot = 0) {
    for (; slot < slots; slot++) {
      const at = slotStart(schedule, timeZone, day, slot);
      if (at.getTime() >= now.getTime()) return { day, slot, at };
    }
  }
  return undefined;
}

// The next step of a script the campaign sends after `step` (-1: before the first), and the wait before it: the
// `user` side only when the target is one of the user's own devices; a skipped step's wait still passes.
export function stepAfter(messages: readonly ScriptStep[], step: number, userSide: boolean): { step: number; delayMs: number } | undefined {
  let delayMs = 0;
  for (let next = step + 1; next < messages.length; next++) {
    delayMs += messages[next]!.delay;
    if (messages[next]!.sender === 'bot' || userSide) return { step: next, delayMs };
  }
  return undefined;
}

// The wait between conversations, in milliseconds (`random` in [0, 1)).
export function gapMs(settings: WarmerSettings, random: number): number {
  const seconds = settings.randomizeDelay ? settings.minDelay + random * (settings.maxDelay - settings.minDelay) : settings.minDelay;
  return Math.round(seconds * 1000);
}

// Where the next conversation begins after the one at `cursor` ended (undefined cursor: the campaign's first), and
// when, before its first step's own delay: the slot's next conversation after the gap, else the next slot's first.
export function nextConversation(
  schedule: WarmerSchedule,
  timeZone: string,
  cursor: Cursor | undefined,
  now: Date,
  gap: number,
): { day: number; slot: number; conversation: number; at: Date } | undefined {
  if (cursor && cursor.conversation + 1 < slotsOf(schedule)[cursor.slot]!.count) {
    return { day: cursor.day, slot: cursor.slot, conversation: cursor.conversation + 1, at: new Date(now.getTime() + gap) };
  }
  const slot = nextSlot(schedule, timeZone, cursor, now);
  return slot && { ...slot, conversation: 0 };
}

const TRANSITIONS: Record<WarmerAction, { from: readonly WarmerStatus[]; to: WarmerStatus }> = {
  start: { from: ['draft'], to: 'active' },
  pause: { from: ['active'], to: 'paused' },
  resume: { from: ['paused'], to: 'active' },
  stop: { from: ['draft', 'active', 'paused'], to: 'stopped' },
};

// The status an action leads to, or why it cannot be taken.
export function decideTransition(status: WarmerStatus, action: WarmerAction): { to: WarmerStatus } | { refused: string } {
  const rule = TRANSITIONS[action];
  if (rule.from.includes(status)) return { to: rule.to };
  return { refused: `the campaign is ${status}; only a ${rule.from.join(' or ')} campaign can ${action === 'stop' ? 'be stopped' : action}` };
}

// PUT's `status`: the action that reaches it from the current status (none when it is already there).
export function actionFor(status: WarmerStatus, wanted: 'active' | 'paused' | 'stopped'): WarmerAction | undefined {
  if (status === wanted) return undefined;
  if (wanted === 'active') return status === 'paused' ? 'resume' : 'start';
  return wanted === 'paused' ? 'pause' : 'stop';
}

export function placeholdersOf(text: string): string[] {
  return [...text.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1]!);
}

// Values a chat between two people would plausibly hold, for variables the campaign gives none for.
const PLAUSIBLE: Record<string, readonly string[]> = {
  name: ['Alex', 'Sam', 'Maya', 'Jordan', 'Lina', 'Chris'],
  productname: ['the blue backpack', 'the coffee grinder', 'the desk lamp', 'the running shoes'],
  product: ['the blue backpack', 'the coffee grinder', 'the desk lamp', 'the running shoes'],
  price: ['$19', '$24.90', '$35', '$12.50'],
  city: ['Lisbon', 'Jakarta', 'Austin', 'Nairobi', 'Manila'],
  day: ['Saturday', 'Friday', 'Sunday', 'Tuesday'],
  time: ['7 pm', 'noon', '10 am', 'half past six'],
  place: ['the park', 'the new cafe', 'the market', 'the beach'],
  food: ['pizza', 'noodles', 'tacos', 'curry'],
  movie: ['the new thriller', 'that documentary', 'the comedy everyone talks about'],
};
const SOMETHING = ['that', 'the usual one', 'the one we talked about'];

// A deterministic index from text (FNV-1a), so a conversation planned again fills the same values.
function pick(options: readonly string[], seed: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) hash = Math.imul(hash ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  return options[hash % options.length]!;
}

// Every variable a script's messages use: the campaign's value, else a plausible one picked by `seed`.
export function fillValues(script: Script, given: Record<string, string>, seed: string): Record<string, string> {
  const names = new Set([...script.variables, ...script.messages.flatMap((m) => placeholdersOf(m.message))]);
  return Object.fromEntries([...names].map((name) => [name, given[name] ?? pick(PLAUSIBLE[name.toLowerCase()] ?? SOMETHING, `${seed}:${name}`)]));
}
