import { AppError } from './errors.ts';
import { foldStatus, statusOf, type MessageStatus } from './message-status.ts';

// A send may wait for WhatsApp's ack before answering: `?wait=sent` for the default time, or RFC 7240's
// `Prefer: wait=N` (seconds; with `?wait=sent` too, N is the time). Never longer than the maximum, because the
// message is on its way either way and a client should not hold a connection open for it.
export const SEND_WAIT_DEFAULT_SECONDS = 10;
export const SEND_WAIT_MAX_SECONDS = 30;

// The `wait` preference of a Prefer header (`respond-async, wait=5`; several headers arrive joined by commas), or
// undefined when it has none. Names are case-insensitive; parameters after `;` are ignored.
function preferredWait(prefer: string): string | undefined {
  for (const preference of prefer.split(',')) {
    const [name, ...value] = preference.split(';')[0]!.split('=');
    if (name!.trim().toLowerCase() === 'wait') return value.join('=').trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

// How long to wait for the ack, in milliseconds, or undefined for the usual 202 at once.
export function sendWaitOf(query: { wait?: 'sent' }, prefer: string | undefined): number | undefined {
  const preferred = prefer === undefined ? undefined : preferredWait(prefer);
  if (preferred !== undefined) {
    const seconds = /^\d{1,6}$/.test(preferred) ? Number(preferred) : Number.NaN;
    if (!(seconds >= 1 && seconds <= SEND_WAIT_MAX_SECONDS)) {
      throw new AppError('VALIDATION_ERROR', `Prefer: wait must be a whole number of seconds from 1 to ${SEND_WAIT_MAX_SECONDS}`, [
        { field: 'headers.prefer', message: `wait=${preferred} is not 1 to ${SEND_WAIT_MAX_SECONDS} seconds` },
      ]);
    }
    return seconds * 1000;
  }
  return query.wait === 'sent' ? SEND_WAIT_DEFAULT_SECONDS * 1000 : undefined;
}

export interface StreamFact {
  type: string;
  data: Record<string, unknown>;
  recordedAt: Date;
}

// What a waiting send learns from its message's events since it was (last) queued: WhatsApp has it (a receipt
// that beats the server ack into the log counts too), or it failed; undefined while it is still on its way.
export type SendOutcome = { kind: 'sent'; status: MessageStatus; sentAt: Date } | { kind: 'failed'; code: string; reason: string };

export function sendOutcomeOf(facts: StreamFact[]): SendOutcome | undefined {
  const sinceQueued = facts.slice(facts.findLastIndex((f) => f.type === 'message.queued') + 1);
  const progress = sinceQueued.filter((f) => ['sent', 'delivered', 'read', 'played'].includes(statusOf(f.type) ?? ''));
  if (progress.length) {
    const sent = progress.find((f) => f.type === 'message.sent') ?? progress[0]!;
    return { kind: 'sent', status: foldStatus(progress.map((f) => f.type))!, sentAt: sent.recordedAt };
  }
  const failed = sinceQueued.find((f) => f.type === 'message.failed');
  if (failed) return { kind: 'failed', code: String(failed.data.code ?? 'MESSAGE_SEND_FAILED'), reason: String(failed.data.reason ?? 'failed') };
  return undefined;
}
