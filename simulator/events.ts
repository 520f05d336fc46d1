import type { WAMessage, WASocket } from '@whiskeysockets/baileys';

// What a test reads from a companion's events. Baileys buffers events, so a receipt can arrive merged into the
// `messages.upsert` of our own message instead of as a `messages.update`: statuses are read from both.

type Message = WAMessage;

export interface Watch {
  // Statuses seen for a message id, in order.
  statuses(id: string): number[];
  messages: Message[];
  waitForStatus(id: string, status: number, timeoutMs?: number): Promise<void>;
  waitForMessage(match: (message: Message) => boolean, timeoutMs?: number): Promise<Message>;
}

export function watch(socket: WASocket): Watch {
  const statuses = new Map<string, number[]>();
  const messages: Message[] = [];
  const waiters = new Set<() => void>();
  const note = (id: string | null | undefined, status: number | null | undefined) => {
    if (!id || typeof status !== 'number') return;
    statuses.set(id, [...(statuses.get(id) ?? []), status]);
  };
  socket.ev.on('messages.upsert', ({ messages: upserted }) => {
    for (const message of upserted) {
      messages.push(message);
      note(message.key.id, message.status);
    }
    for (const wake of waiters) wake();
  });
  socket.ev.on('messages.update', (updates) => {
    for (const { key, update } of updates) note(key.id, update.status);
    for (const wake of waiters) wake();
  });
  const until = <T>(check: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const wake = () => {
        const found = check();
        if (found === undefined) return;
        waiters.delete(wake);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      waiters.add(wake);
      wake();
    });
  return {
    statuses: (id) => statuses.get(id) ?? [],
    messages,
    waitForStatus: (id, status, timeoutMs = 10_000) =>
      until(() => ((statuses.get(id) ?? []).some((s) => s >= status) ? true : undefined), timeoutMs, `status ${status} of ${id}`).then(() => undefined),
    waitForMessage: (match, timeoutMs = 10_000) => until(() => messages.find(match), timeoutMs, 'a message'),
  };
}

export const textOf = (message: Message): string | undefined =>
  message.message?.conversation ?? message.message?.extendedTextMessage?.text ?? undefined;
