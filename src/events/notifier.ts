import pg from 'pg';
import type { Logger } from '../logger.ts';
import { EVENTS_CHANNEL } from './event-store.ts';

export interface AppendNotifier {
  // Calls `listener` after appends by any process; returns the unsubscribe function.
  subscribe(listener: () => void): () => void;
  close(): Promise<void>;
}

// One LISTEN connection per process wakes every live reader in it. A notification carries no data: readers
// always read the log, so a missed wake-up (reconnect) only delays them until their next poll.
export async function createAppendNotifier(databaseUrl: string, logger: Logger): Promise<AppendNotifier> {
  const listeners = new Set<() => void>();
  let client: pg.Client | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;

  const wakeAll = () => {
    for (const listener of listeners) listener();
  };

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: databaseUrl });
    next.on('notification', wakeAll);
    next.on('error', (err) => {
      logger.warn({ err }, 'event notifications lost their connection; reconnecting');
      next.end().catch(() => {});
      if (client === next) client = undefined;
      scheduleReconnect();
    });
    await next.connect();
    await next.query(`listen ${EVENTS_CHANNEL}`);
    client = next;
    // Anything appended while we were not listening is picked up by reading the log now.
    wakeAll();
  };

  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect().catch((err) => {
        logger.warn({ err }, 'event notifications: reconnect failed');
        scheduleReconnect();
      });
    }, 1000);
  };

  await connect();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      listeners.clear();
      await client?.end();
    },
  };
}
