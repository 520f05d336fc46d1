import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { BaseLogger } from 'pino';
import type { Coordination, Subscription } from './coordination.ts';

// Processes keep in memory what every request would otherwise read from the database (credentials). A change to
// such data is announced to every process; each forgets its caches and answers, and the change's own request is
// answered only once all have, so a revocation takes effect at once everywhere.
//
// A process that does not answer (its subscription lost, its event loop stalled) must not go on trusting a cache
// that may have missed the announcement. So each process sends itself a probe every PROBE_MS and trusts its caches
// only until TRUST_MS after sending the last probe it heard back. An announcement waits at most TRUST_MS (and a
// margin) for the answers: by then a silent process has stopped trusting its caches, since any probe it still
// hears was sent after the announcement and so reached it behind the announcement (one subscription delivers in
// publishing order, in Redis and in PostgreSQL's NOTIFY alike).
const CHANNEL = 'cache-invalidation';
const PROBE_MS = 1_000;
const TRUST_MS = 2_500;
const ANSWER_WAIT_MS = TRUST_MS + 250;

export interface CacheInvalidation {
  // The generation this process's caches are in: an entry is good only in the generation it was read in, and
  // undefined means not to use the caches now (nor to fill them).
  generation(): number | undefined;
  // Tells every process (this one too) to forget its caches; resolves once all have, or cannot be trusting them.
  announce(): Promise<void>;
  close(): Promise<void>;
}

export async function createCacheInvalidation(coordination: Coordination, logger?: Pick<BaseLogger, 'warn' | 'debug'>): Promise<CacheInvalidation> {
  const processId = randomUUID();
  const ownChannel = `${CHANNEL}:${processId}`;
  let generation = 0;
  let trustedUntil = -Infinity;
  const waiting = new Map<string, { answers: number; heard: () => void }>();
  const forget = () => void generation++;
  const answer = (message: string) => {
    const { id, from } = JSON.parse(message) as { id: string; from: string };
    forget();
    coordination.publish(`${CHANNEL}:${from}`, `answer:${id}`).catch((err: unknown) => logger?.warn({ err }, 'cache invalidation: could not answer an announcement'));
  };
  const heard = (message: string) => {
    const [kind, value = ''] = message.split(':');
    if (kind === 'probe') {
      // Caches kept through a lapse may have missed an announcement.
      if (performance.now() >= trustedUntil) forget();
      trustedUntil = Math.max(trustedUntil, Number(value) + TRUST_MS);
    } else waiting.get(value)?.heard();
  };
  // Announcements published while the subscription was down are lost: trust only what follows a probe heard again.
  const interrupted = () => {
    trustedUntil = -Infinity;
    forget();
  };
  // Announcements first: a reconnection listens again in this order, so a probe heard again means they are heard too.
  const subscriptions: Subscription[] = [];
  subscriptions.push(await coordination.subscribe(CHANNEL, answer, interrupted));
  subscriptions.push(await coordination.subscribe(ownChannel, heard, interrupted));
  const probe = () =>
    void coordination.publish(ownChannel, `probe:${performance.now()}`).catch((err: unknown) => logger?.debug({ err }, 'cache invalidation: probe not sent'));
  probe();
  const prober = setInterval(probe, PROBE_MS);
  prober.unref();

  return {
    generation() {
      if (performance.now() < trustedUntil) return generation;
      return undefined;
    },
    async announce() {
      forget();
      const id = randomUUID();
      let answered!: () => void;
      const all = new Promise<void>((resolve) => (answered = resolve));
      let listeners = Infinity;
      const wait = { answers: 0, heard: () => void (++wait.answers >= listeners && answered()) };
      waiting.set(id, wait);
      try {
        listeners = await coordination.publish(CHANNEL, JSON.stringify({ id, from: processId }));
        if (wait.answers >= listeners) return;
        let timer!: NodeJS.Timeout;
        const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ANSWER_WAIT_MS)));
        if (await Promise.race([all.then(() => false), late])) {
          logger?.warn({ listeners, answers: wait.answers }, 'cache invalidation: not every process answered; the silent ones no longer trust their caches');
        }
        clearTimeout(timer);
      } finally {
        waiting.delete(id);
      }
    },
    async close() {
      clearInterval(prober);
      await Promise.all(subscriptions.map((subscription) => subscription.close()));
    },
  };
}

// A process-local cache that a CacheInvalidation empties: bounded in size and in age, and bypassed whenever the
// invalidation says its caches are not to be trusted.
export class InvalidatedCache<V> {
  private readonly entries = new Map<string, { value: V; generation: number; until: number }>();
  private readonly invalidation: CacheInvalidation;
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;

  constructor(invalidation: CacheInvalidation, options: { maxAgeMs: number; maxEntries: number }) {
    this.invalidation = invalidation;
    this.maxAgeMs = options.maxAgeMs;
    this.maxEntries = options.maxEntries;
  }

  // The value kept under `key` while `good` holds for it, else the one `load` reads (kept only when nothing was
  // announced while it was read).
  async remember(key: string, load: () => Promise<V>, good: (value: V) => boolean = () => true): Promise<V> {
    const generation = this.invalidation.generation();
    const now = performance.now();
    const entry = this.entries.get(key);
    if (entry && generation !== undefined && entry.generation === generation && entry.until > now && good(entry.value)) return entry.value;
    const value = await load();
    if (generation === undefined || this.invalidation.generation() !== generation) return value;
    this.entries.delete(key);
    // Maps iterate in insertion order: the first key is the oldest entry.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, generation, until: now + this.maxAgeMs });
    return value;
  }

  // What a change announces: every process's caches are emptied.
  announce(): Promise<void> {
    return this.invalidation.announce();
  }
}
