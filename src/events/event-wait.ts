import type { FeedFilter, RecordedEvent } from './event-store.ts';
import type { LiveFeed } from './live-feed.ts';

export interface EventWait {
  // The first event since listening began that `pick` turns into a value, or undefined once `timeoutMs` have passed
  // (or `signal` aborted). Events `pick` passes over are dropped.
  next<T>(pick: (event: RecordedEvent) => T | undefined, timeoutMs: number, signal?: AbortSignal): Promise<T | undefined>;
  close(): void;
}

// Waiting for something another process does (a worker's pairing code, WhatsApp's ack of a send): listen on the
// live feed *before* causing it, so a fast answer cannot pass unseen. Events that arrive before `next` is called
// are kept for it. Works across processes, since every process follows the same log.
export async function listenFor(feed: LiveFeed, filter: FeedFilter): Promise<EventWait> {
  const early: RecordedEvent[] = [];
  let waiter: ((event: RecordedEvent) => void) | undefined;
  const subscription = await feed.subscribe({ from: 'now', filter, internal: true, deliver: (event) => (waiter ? waiter(event) : early.push(event)) });
  return {
    next(pick, timeoutMs, signal) {
      for (const event of early.splice(0)) {
        const value = pick(event);
        if (value !== undefined) return Promise.resolve(value);
      }
      return new Promise((resolve) => {
        const settle = (value: ReturnType<typeof pick> | undefined) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', abort);
          waiter = undefined;
          resolve(value);
        };
        const abort = () => settle(undefined);
        const timer = setTimeout(abort, timeoutMs);
        if (signal?.aborted) return abort();
        signal?.addEventListener('abort', abort, { once: true });
        waiter = (event) => {
          const value = pick(event);
          if (value !== undefined) settle(value);
        };
      });
    },
    close: () => subscription.close(),
  };
}
