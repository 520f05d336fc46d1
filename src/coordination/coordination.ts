// What processes of one deployment share besides the database's tables: leases, short-lived values, counters,
// slots and messages between processes. Two implementations: Redis (REDIS_URL set) and PostgreSQL (no Redis
// configured). Every lease, counter, timer or cross-process message in the platform goes through this interface,
// so both modes keep working; tests/coordination/contract.int.test.ts holds both to the same behaviour.
//
// Keys and channels are plain names (`lease:device-7`, `pairing-request:device-7`); the Redis implementation puts
// the deployment's REDIS_PREFIX in front. Times to live are in milliseconds and measured by the store's clock (not
// the caller's), so processes with drifting clocks agree on when something expires.

export interface LeaseHolder {
  owner: string;
  token: number;
}

export interface WindowCount {
  // Hits in the current window, this one included.
  count: number;
  // Until the window ends.
  ttlMs: number;
}

export interface Subscription {
  close(): Promise<void>;
}

export interface Coordination {
  readonly kind: 'redis' | 'postgres';

  // Values with a time to live.
  set(key: string, value: string, ttlMs: number): Promise<void>;
  // Sets only when the key holds no live value; true when it did.
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  get(key: string): Promise<string | undefined>;
  // Reads and deletes in one step: of several concurrent takers, one gets the value.
  take(key: string): Promise<string | undefined>;
  // Milliseconds the key still lives; 0 when it holds nothing.
  ttl(key: string): Promise<number>;
  // Deletes a value or a set.
  delete(key: string): Promise<void>;

  // Sets of strings, kept until deleted.
  addToSet(key: string, member: string): Promise<void>;
  members(key: string): Promise<string[]>;

  // Fixed-window counting (rate limits): one hit in the window that `key` names; the window starts at the first hit.
  hit(key: string, windowMs: number): Promise<WindowCount>;

  // Exclusive leases. `token` grows with every acquisition of the same name, and is larger than `above` (a fence
  // recorded elsewhere that the store may not know of: Redis forgets its counters on a restart without persistence,
  // a deployment moves between Redis and PostgreSQL). Renew and release act only for the holder that acquired (owner
  // and token), and a lease nobody renews lapses after its ttl.
  acquireLease(name: string, owner: string, ttlMs: number, above?: number): Promise<number | undefined>;
  renewLease(name: string, owner: string, token: number, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, owner: string, token: number): Promise<void>;
  leaseHolder(name: string): Promise<LeaseHolder | undefined>;

  // At most `max` holders of `key` at once, each slot lapsing after `leaseMs` unless released, and (perSecond > 0)
  // at most `perSecond` slots granted per second. A token to release with, or undefined when at the limit now.
  acquireSlot(key: string, max: number, leaseMs: number, perSecond: number): Promise<string | undefined>;
  releaseSlot(key: string, token: string): Promise<void>;

  // Messages to every process subscribed to `channel` now (nothing is kept for later subscribers). Resolves with
  // how many subscriptions were live to receive it (0: nobody listens). Messages may be large (a group list).
  publish(channel: string, message: string): Promise<number>;
  // Resolves once the subscription is live: a message published after that reaches `onMessage`. `onInterrupted`
  // hears that messages may have been lost: the connection the subscription listens on dropped (it comes back on its
  // own, and messages published once it is back arrive again).
  subscribe(channel: string, onMessage: (message: string) => void, onInterrupted?: () => void): Promise<Subscription>;

  // Rejects when the store does not answer (for /ready).
  ping(): Promise<void>;
  close(): Promise<void>;
}
