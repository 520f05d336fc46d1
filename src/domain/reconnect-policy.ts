// What a session host does when WhatsApp closes a session's socket, by Baileys' disconnect reason. Pure: the
// caller passes the attempt number and a random source for the jitter.

export type ReconnectDecision =
  | { action: 'reconnect'; delayMs: number }
  // 440: another socket took the session (another process, or WhatsApp Web elsewhere): stop, report, no loop.
  | { action: 'stop'; reason: 'connection-replaced' }
  // 401/403: the device was unlinked or banned: wipe the stored creds and keys, mark it logged out.
  | { action: 'logout'; reason: 'logged-out' | 'forbidden' }
  // 411: the stored identity no longer matches the account: it needs a new pairing.
  | { action: 'repair'; reason: 'multidevice-mismatch' }
  // 408 before the device was ever linked: every QR of the set expired unscanned. Showing QRs forever would cost
  // a socket per abandoned device; the user asks for fresh ones (login) when the phone is at hand.
  | { action: 'await-login'; reason: 'qr-expired' };

export const BACKOFF = { baseMs: 1000, capMs: 60_000 } as const;

export const DISCONNECT = {
  connectionClosed: 428,
  timedOut: 408,
  loggedOut: 401,
  forbidden: 403,
  multideviceMismatch: 411,
  connectionReplaced: 440,
  badSession: 500,
  unavailable: 503,
  restartRequired: 515,
} as const;

// Exponential backoff with full jitter (AWS's scheme): spreads reconnects of many sessions after a shared outage.
export function backoffMs(attempt: number, random: () => number, { baseMs, capMs } = BACKOFF): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

// `linked`: the device has an identity (was paired); `showedQr`: the socket that closed had shown QRs (a 408 before
// any QR is a connection that timed out, transient like any other).
export function decideReconnect(
  code: number | undefined,
  attempt: number,
  random: () => number,
  { linked = true, showedQr = false } = {},
): ReconnectDecision {
  if (!linked && showedQr && code === DISCONNECT.timedOut) return { action: 'await-login', reason: 'qr-expired' };
  switch (code) {
    case DISCONNECT.restartRequired:
      return { action: 'reconnect', delayMs: 0 };
    case DISCONNECT.connectionReplaced:
      return { action: 'stop', reason: 'connection-replaced' };
    case DISCONNECT.loggedOut:
      return { action: 'logout', reason: 'logged-out' };
    case DISCONNECT.forbidden:
      return { action: 'logout', reason: 'forbidden' };
    case DISCONNECT.multideviceMismatch:
      return { action: 'repair', reason: 'multidevice-mismatch' };
    default:
      // 408, 428, 500, 503 and anything unknown: transient until proven otherwise.
      return { action: 'reconnect', delayMs: backoffMs(attempt, random) };
  }
}
