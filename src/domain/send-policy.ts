// The send policy of one number: whether, and when, its next message may go. Every send of a session passes here
// (API sends, bulk, AI replies, the warmer), in the session's sender, one message at a time. Pure: the sender
// gathers the facts (today's counts, the number's age, its risk signals, its pause), this decides.
//
// The defaults are the numbers people running unofficial gateways use (../shared/notes/ai-bots-and-warmup.md):
// WhatsApp publishes none for linked devices.

import { wallClockIn } from './wall-clock.ts';

export interface SendingHours {
  // HH:MM in `timeZone`; a window past midnight (22:00–06:00) is allowed.
  start: string;
  end: string;
}

export interface PolicySettings {
  // Sends per day while the number is new: entry i is its cap on day i + 1 on the platform (baileys-antiban's
  // moderate ramp: ×1.8 a day from 20). After the ramp, `dailyCap`.
  ramp: number[];
  dailyCap: number;
  // First messages to contacts the number has never exchanged a message with, per day, by day on the platform
  // (one published 21-day schedule: day 3: 5, day 7: 25, day 14: 59, day 21: 86); after it, `newContactsCap`.
  newContactsRamp: number[];
  newContactsCap: number;
  // Counted from this day (ISO date); null: no ramp (an old number, new to the platform).
  warmupFrom: string | null;
  // Sends only within these hours (null: any time); `timeZone` also names the day the counts reset.
  sendingHours: SendingHours | null;
  timeZone: string;
  // After a 463 (reach-out time-lock), first contacts wait this long.
  firstContactPauseSeconds: number;
  // A health score reaching `paused` holds all but replies this long, reaching `stopped` everything this long.
  pauseSeconds: number;
  stopSeconds: number;
}

// 20 × 1.8ⁿ, rounded as baileys-antiban's preset lists them.
export const DEFAULT_RAMP = [20, 36, 65, 117, 210, 378, 680];

// The 21-day schedule, linear between its published days, from 2 on day 1.
export const DEFAULT_NEW_CONTACTS_RAMP = interpolate([
  [1, 2],
  [3, 5],
  [7, 25],
  [14, 59],
  [21, 86],
]);

function interpolate(points: [day: number, value: number][]): number[] {
  const last = points.at(-1)![0];
  return Array.from({ length: last }, (_, i) => {
    const day = i + 1;
    const upper = points.findIndex(([d]) => d >= day);
    const [d1, v1] = points[upper]!;
    if (d1 === day || upper === 0) return v1;
    const [d0, v0] = points[upper - 1]!;
    return Math.round(v0 + ((v1 - v0) * (day - d0)) / (d1 - d0));
  });
}

export const DEFAULT_POLICY: Omit<PolicySettings, 'warmupFrom' | 'timeZone'> = {
  ramp: DEFAULT_RAMP,
  dailyCap: 1500,
  newContactsRamp: DEFAULT_NEW_CONTACTS_RAMP,
  newContactsCap: 100,
  sendingHours: null,
  firstContactPauseSeconds: 3600,
  pauseSeconds: 5400,
  stopSeconds: 86_400,
};

// Risk signals and what each adds to the health score (baileys-antiban's weights). Each decays on its own by
// DECAY_PER_MINUTE; a disconnect or a failed send counts only as part of a run (≥ 3 disconnects in an hour,
// ≥ 5 failed sends in an hour), added once per run.
export type SignalKind = 'reach-out-locked' | 'forbidden' | 'logged-out' | 'disconnected' | 'send-failed';
export const SIGNAL_WEIGHTS: Record<SignalKind, number> = { 'reach-out-locked': 25, forbidden: 40, 'logged-out': 60, disconnected: 30, 'send-failed': 20 };
const RUNS: Partial<Record<SignalKind, number>> = { disconnected: 3, 'send-failed': 5 };
const RUN_WINDOW_MS = 3_600_000;
export const DECAY_PER_MINUTE = 2;

export interface Signal {
  kind: SignalKind;
  at: Date;
}

// The score now: the sum of every signal's weight less its decay since, runs counted where they complete.
export function healthScore(signals: readonly Signal[], now: Date): number {
  let score = 0;
  const byKind = new Map<SignalKind, Date[]>();
  for (const signal of [...signals].sort((a, b) => a.at.getTime() - b.at.getTime())) {
    const run = RUNS[signal.kind];
    let counts = true;
    if (run) {
      // The signal completes a run when `run - 1` of its kind came within the hour before it and no run completed since.
      const seen = byKind.get(signal.kind) ?? [];
      seen.push(signal.at);
      byKind.set(signal.kind, seen);
      const recent = seen.filter((at) => signal.at.getTime() - at.getTime() < RUN_WINDOW_MS);
      counts = recent.length >= run;
      if (counts) byKind.set(signal.kind, []);
    }
    if (counts) score += Math.max(0, SIGNAL_WEIGHTS[signal.kind] - (DECAY_PER_MINUTE * (now.getTime() - signal.at.getTime())) / 60_000);
  }
  return Math.round(score * 10) / 10;
}

// What the score does: ≥ 15 halves the rate while it lasts; reaching 40 holds bulk, warmer and first contacts
// (replies still go) for `pauseSeconds` (1–2 h in the note), reaching 80 holds everything for `stopSeconds` (a day
// or two). A pause runs its time even as the score decays; a higher level replaces a lower one.
export type HealthLevel = 'good' | 'slowed' | 'paused' | 'stopped';
export const HEALTH_THRESHOLDS = { slowed: 15, paused: 40, stopped: 80 } as const;

export function levelOf(score: number): HealthLevel {
  if (score >= HEALTH_THRESHOLDS.stopped) return 'stopped';
  if (score >= HEALTH_THRESHOLDS.paused) return 'paused';
  if (score >= HEALTH_THRESHOLDS.slowed) return 'slowed';
  return 'good';
}

export interface HealthPause {
  level: 'paused' | 'stopped';
  until: Date;
  reason: string;
}

// The pause a score calls for that the number is not already in, if any.
export function pauseToEnter(settings: PolicySettings, score: number, current: HealthPause | null, now: Date): HealthPause | undefined {
  const level = levelOf(score);
  if (level !== 'paused' && level !== 'stopped') return undefined;
  if (current && current.until > now && (current.level === 'stopped' || level === 'paused')) return undefined;
  const seconds = level === 'stopped' ? settings.stopSeconds : settings.pauseSeconds;
  const what = level === 'stopped' ? 'nothing is sent' : 'only replies are sent';
  return { level, until: new Date(now.getTime() + seconds * 1000), reason: `health score ${score} reached ${HEALTH_THRESHOLDS[level]}: ${what} until the pause ends` };
}

// Kinds of message, as the policy ranks them: a reply to someone who wrote last goes before anything else.
export type SendKind = 'reply' | 'message' | 'bulk' | 'warmer';

export interface SendFacts {
  kind: SendKind;
  // The chat has never had a message either way (not even one still queued before this one).
  firstContact: boolean;
  sentToday: number;
  firstContactsToday: number;
  // Days since `warmupFrom`, 0 on its day.
  ageDays: number | null;
  score: number;
  // The pause the number is in (its `until` may have passed: then it is over).
  pause: HealthPause | null;
  // Until when first contacts wait after a 463, if they do.
  firstContactsPausedUntil: Date | null;
  // An owner's hold (`PUT … {paused: true}`): nothing goes until they resume.
  heldByOwner: boolean;
  // Minutes since midnight in the policy's time zone, and when the next day begins there.
  minuteOfDay: number;
  msToNextDay: number;
}

export type Decision = { send: true; slowed: boolean } | { send: false; reason: string; code: HoldCode; retryInMs: number };
export type HoldCode = 'HELD_BY_OWNER' | 'HEALTH_STOPPED' | 'HEALTH_PAUSED' | 'OUTSIDE_SENDING_HOURS' | 'DAILY_CAP' | 'FIRST_CONTACTS_PAUSED' | 'NEW_CONTACTS_CAP';

export function capsOn(settings: PolicySettings, ageDays: number | null): { daily: number; newContacts: number } {
  if (ageDays === null || ageDays < 0) return { daily: settings.dailyCap, newContacts: settings.newContactsCap };
  return {
    daily: Math.min(settings.dailyCap, settings.ramp[ageDays] ?? settings.dailyCap),
    newContacts: Math.min(settings.newContactsCap, settings.newContactsRamp[ageDays] ?? settings.newContactsCap),
  };
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

// Minutes from `minute` until the window opens (0 inside it).
export function minutesUntilOpen(hours: SendingHours, minute: number): number {
  const [start, end] = [minutesOf(hours.start), minutesOf(hours.end)];
  const inside = start <= end ? minute >= start && minute < end : minute >= start || minute < end;
  return inside ? 0 : (start - minute + 1440) % 1440;
}

// A held message looks again when its hold should end, and at least every `recheckMs`, so that a change of settings or
// a resume by hand reaches it soon.
export function decide(settings: PolicySettings, facts: SendFacts, now: Date, recheckMs: number): Decision {
  const hold = (code: HoldCode, reason: string, retryInMs: number): Decision => ({ send: false, code, reason, retryInMs: Math.min(recheckMs, Math.max(250, Math.round(retryInMs))) });
  if (facts.heldByOwner) return hold('HELD_BY_OWNER', 'the owner paused sending from this number', recheckMs);
  const pause = facts.pause && facts.pause.until > now ? facts.pause : null;
  const untilEnd = pause ? pause.until.getTime() - now.getTime() : 0;
  if (pause?.level === 'stopped') return hold('HEALTH_STOPPED', pause.reason, untilEnd);
  const urgent = facts.kind === 'reply' && !facts.firstContact;
  if (pause && !urgent) return hold('HEALTH_PAUSED', pause.reason, untilEnd);
  if (settings.sendingHours && !urgent) {
    const wait = minutesUntilOpen(settings.sendingHours, facts.minuteOfDay);
    if (wait > 0) return hold('OUTSIDE_SENDING_HOURS', `outside the sending hours ${settings.sendingHours.start}–${settings.sendingHours.end} (${settings.timeZone})`, wait * 60_000);
  }
  const caps = capsOn(settings, facts.ageDays);
  const dayName = facts.ageDays === null ? 'a day' : `day ${facts.ageDays + 1} of the warm-up`;
  if (facts.sentToday >= caps.daily) return hold('DAILY_CAP', `${facts.sentToday} sent today, the cap on ${dayName} is ${caps.daily}`, facts.msToNextDay + 1000);
  if (facts.firstContact) {
    if (facts.firstContactsPausedUntil && facts.firstContactsPausedUntil > now) {
      return hold('FIRST_CONTACTS_PAUSED', 'WhatsApp refused a first contact (463, reach-out time-lock): first messages to new contacts wait', facts.firstContactsPausedUntil.getTime() - now.getTime());
    }
    if (facts.firstContactsToday >= caps.newContacts) {
      return hold('NEW_CONTACTS_CAP', `${facts.firstContactsToday} new contacts today, the cap on ${dayName} is ${caps.newContacts}`, facts.msToNextDay + 1000);
    }
  }
  return { send: true, slowed: levelOf(facts.score) !== 'good' };
}

// The day `at` falls on in `timeZone` (YYYY-MM-DD), the minute of that day, and how long until the next one.
export function dayIn(timeZone: string, at: Date): { day: string; minuteOfDay: number; msToNextDay: number } {
  const { year, month, day, hour, minute, second } = wallClockIn(timeZone, at);
  const minuteOfDay = hour * 60 + minute;
  const msIntoDay = (minuteOfDay * 60 + second) * 1000 + at.getMilliseconds();
  const two = (n: number) => String(n).padStart(2, '0');
  return { day: `${year}-${two(month)}-${two(day)}`, minuteOfDay, msToNextDay: 86_400_000 - msIntoDay };
}

// Whole days from `from` (a YYYY-MM-DD day) to `day`.
export function daysBetween(from: string, day: string): number {
  return Math.round((Date.parse(`${day}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
