// The per-account slowdown of password logins. Pure: the caller reads the account's recent attempts from the
// log and passes them in, newest first, with the time.

export interface LoginFailureRule {
  // Failures allowed within the window before each further attempt must wait.
  max: number;
  windowMs: number;
}

export interface RecentAttempt {
  succeeded: boolean;
  at: Date;
}

// The first wait after `max` failures; each further failure doubles it, up to the cap.
export const FIRST_WAIT_MS = 30_000;
export const MAX_WAIT_MS = 15 * 60_000;

// How long an attempt at `now` must still wait (ms), or 0 when it may go ahead. Counted: failures within the
// window since the last success (throttled attempts are not passed in: refusing does not lengthen the wait).
export function loginWait(recent: RecentAttempt[], now: Date, rule: LoginFailureRule): number {
  const since = now.getTime() - rule.windowMs;
  const failures: Date[] = [];
  for (const attempt of recent) {
    if (attempt.succeeded || attempt.at.getTime() <= since) break;
    failures.push(attempt.at);
  }
  if (failures.length < rule.max) return 0;
  const wait = Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (failures.length - rule.max));
  return Math.max(0, failures[0]!.getTime() + wait - now.getTime());
}
