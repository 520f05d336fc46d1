// Seed 002's login from WhatsApp: a user writes `/login` to the platform's bot number and gets a one-time login
// token back. The rules here are pure; the reactor in src/workers/login-bot/ applies them to the log.

export type BotLoginOutcome = 'issued' | 'unknown-number' | 'user-disabled' | 'rate-limited' | 'stale';

export interface RateRule {
  max: number;
  windowMs: number;
}

// The command: `/login` alone, in any case, with surrounding blanks. Anything else is ordinary conversation.
export function isLoginCommand(text: string | undefined): boolean {
  return text?.trim().toLowerCase() === '/login';
}

// Whether one more request at `now` stays within `max` per window, given the times of earlier requests from the
// same sender (refused ones count too: whoever keeps asking stays refused until they pause).
export function withinRate(earlier: Date[], now: Date, rule: RateRule): boolean {
  const since = now.getTime() - rule.windowMs;
  return earlier.filter((t) => t.getTime() > since && t.getTime() <= now.getTime()).length < rule.max;
}

// "5m", "90s", "1h 30m": how long a token lasts, the way people say it.
export function humanDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, seconds] of [['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / seconds);
    rest -= n * seconds;
    if (n) parts.push(`${n}${unit}`);
  }
  return parts.join(' ') || '0s';
}

// The bot's answer: what the token is for, how long it lasts, how to use it.
export function loginReplyText(token: string, ttlMs: number): string {
  return [
    `Your one-time login token for the WhatsApp API platform (valid ${humanDuration(ttlMs)}, usable once):`,
    '',
    token,
    '',
    `Exchange it for an access token with POST /api/auth/login {"token": "${token}"}.`,
    'If you did not ask for it, ignore this message.',
  ].join('\n');
}

export interface BotLoginRequest {
  // When the request was recorded, and when it is being answered (a worker that was down answers late).
  requestedAt: Date;
  now: Date;
  // When the same sender asked before (every outcome).
  earlier: Date[];
  rule: RateRule;
  // How long a token lives: a request older than that is not answered, its sender has moved on.
  ttlMs: number;
  // The user with the sender's number, if any.
  user: { disabled: boolean } | undefined;
}

// What comes of a request. The rate is checked first and for everyone, so refusals look the same whether or not
// the number is registered.
export function decideBotLogin({ requestedAt, now, earlier, rule, ttlMs, user }: BotLoginRequest): BotLoginOutcome {
  if (now.getTime() - requestedAt.getTime() > ttlMs) return 'stale';
  if (!withinRate(earlier, requestedAt, rule)) return 'rate-limited';
  if (!user) return 'unknown-number';
  return user.disabled ? 'user-disabled' : 'issued';
}
