import type { Orm } from '../db/orm.ts';
import type { Logger } from '../logger.ts';
import {
  checkpointAt,
  compareCheckpoints,
  headOfFeed,
  matchesFilter,
  readFeed,
  type Checkpoint,
  type FeedFilter,
  type RecordedEvent,
} from './event-store.ts';
import type { AppendNotifier } from './notifier.ts';

const BATCH = 1000;

export interface LiveSubscription {
  close(): void;
}

export interface SubscribeOptions {
  // Replay from just after this point, then go live; 'now' goes live at once.
  from: Checkpoint | 'now';
  filter: FeedFilter;
  // Further in-memory selection (e.g. the sessions a WebSocket subscribed to).
  accept?: (event: RecordedEvent) => boolean;
  // Must not block: a slow consumer buffers or drops itself, it never slows the feed.
  deliver: (event: RecordedEvent) => void;
  // A request of ours waiting for an event (a send's ack), not a client: left out of clientCount.
  internal?: boolean;
}

export interface LiveFeed {
  subscribe(options: SubscribeOptions): Promise<LiveSubscription>;
  // Live clients (SSE and WebSocket) this process is feeding now.
  clientCount(): number;
  close(): void;
}

interface Subscriber extends SubscribeOptions {
  cursor: Checkpoint;
  live: boolean;
  closed: boolean;
}

// One reader per process follows the whole log and hands each event to the live subscribers it matches, so
// a thousand clients cost one query per wake-up, not a thousand. A new subscriber first replays from its own
// position up to the feed's, reading the table, and joins the live set once it has caught up; every
// subscriber keeps its own cursor and is never handed an event at or before it, so the hand-over can neither
// skip nor repeat an event.
export async function createLiveFeed(orm: Orm, notifier: AppendNotifier, logger: Logger): Promise<LiveFeed> {
  const em = () => orm.em.fork();
  let cursor = await headOfFeed(em());
  const subscribers = new Set<Subscriber>();
  let reading: Promise<void> | undefined;
  let again = false;

  const hand = (sub: Subscriber, event: RecordedEvent) => {
    if (sub.closed || compareCheckpoints(checkpointAt(event), sub.cursor) <= 0) return;
    sub.cursor = checkpointAt(event);
    if (matchesFilter(sub.filter, event) && (sub.accept?.(event) ?? true)) sub.deliver(event);
  };

  const readOnce = async () => {
    do {
      again = false;
      const events = await readFeed(em(), cursor, BATCH);
      for (const event of events) {
        cursor = checkpointAt(event);
        for (const sub of subscribers) if (sub.live) hand(sub, event);
      }
      if (events.length === BATCH) again = true;
    } while (again);
  };

  const wake = () => {
    if (reading) {
      again = true;
      return;
    }
    reading = readOnce()
      .catch((err) => logger.error({ err }, 'live feed read failed; the next wake-up retries'))
      .finally(() => (reading = undefined));
  };
  const unsubscribe = notifier.subscribe(wake);
  // Notifications can be lost on a reconnect; a slow poll bounds the delay then.
  const poll = setInterval(wake, 5000);

  return {
    async subscribe(options) {
      const sub: Subscriber = { ...options, cursor: options.from === 'now' ? cursor : options.from, live: false, closed: false };
      subscribers.add(sub);
      // Catch up from the table until nothing separates the subscriber from the feed, then go live with no await
      // in between, so no event of the feed can pass unseen.
      while (!sub.closed && compareCheckpoints(sub.cursor, cursor) < 0) {
        const target = cursor;
        const events = await readFeed(em(), sub.cursor, BATCH, options.filter, target);
        for (const event of events) hand(sub, event);
        if (events.length < BATCH && compareCheckpoints(sub.cursor, target) < 0) sub.cursor = target;
      }
      sub.live = true;
      return {
        close() {
          sub.closed = true;
          subscribers.delete(sub);
        },
      };
    },
    clientCount: () => [...subscribers].filter((sub) => !sub.internal).length,
    close() {
      unsubscribe();
      clearInterval(poll);
      for (const sub of subscribers) sub.closed = true;
      subscribers.clear();
    },
  };
}
