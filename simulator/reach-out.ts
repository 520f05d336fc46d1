// What WhatsApp holds against an account that writes to too many new people: who it already talks to, its
// first messages within a sliding window, the time-lock (error 463) that follows, and the restriction that
// follows repeated refusals. Pure bookkeeping, keyed by account jid; the caller passes the time.

export interface ReachOutPolicy {
  firstContacts: number;
  windowMs: number;
  lockMs: number;
  restrictAfter?: number;
}

export interface RefusedMessage {
  id: string;
  to: string;
  at: number;
}

export interface ReachOutState {
  policy: ReachOutPolicy | null;
  firstContactsInWindow: number;
  lockedUntil: number | null;
  refused: number;
  restricted: boolean;
  knownContacts: number;
  refusedMessages: RefusedMessage[];
}

// `restrict`: refused, and that refusal restricted the account.
export type Verdict = 'pass' | 'refuse' | 'restrict';

interface Account {
  // Exchanges are history: they outlive any policy.
  readonly known: Set<string>;
  policy: ReachOutPolicy | null;
  firsts: number[];
  lockedUntil: number | null;
  refused: RefusedMessage[];
  // Refusals that a lifted restriction has already answered for.
  forgiven: number;
  restricted: boolean;
}

const isCount = (value: unknown, min: number) => typeof value === 'number' && Number.isInteger(value) && value >= min;

// A policy as the control API takes it (unknown fields left out), or what is wrong with it.
export function parseReachOutPolicy(value: unknown): ReachOutPolicy | string {
  const p = value as Record<string, unknown>;
  if (typeof p !== 'object' || p === null) return 'a policy {firstContacts, windowMs, lockMs, restrictAfter?} or null';
  if (!isCount(p.firstContacts, 0)) return 'firstContacts must be an integer ≥ 0';
  if (!isCount(p.windowMs, 1) || !isCount(p.lockMs, 1)) return 'windowMs and lockMs must be integers ≥ 1';
  if (p.restrictAfter !== undefined && !isCount(p.restrictAfter, 1)) return 'restrictAfter must be an integer ≥ 1';
  const { firstContacts, windowMs, lockMs, restrictAfter } = p as unknown as ReachOutPolicy;
  return { firstContacts, windowMs, lockMs, ...(restrictAfter === undefined ? {} : { restrictAfter }) };
}

export class ReachOutBook {
  readonly #accounts = new Map<string, Account>();

  #account(jid: string): Account {
    let account = this.#accounts.get(jid);
    if (!account) {
      account = { known: new Set(), policy: null, firsts: [], lockedUntil: null, refused: [], forgiven: 0, restricted: false };
      this.#accounts.set(jid, account);
    }
    return account;
  }

  // Any policy (or none) starts afresh: no window, lock, refusals or restriction carried over.
  setPolicy(jid: string, policy: ReachOutPolicy | null): void {
    Object.assign(this.#account(jid), { policy, firsts: [], lockedUntil: null, refused: [], forgiven: 0, restricted: false });
  }

  exchanged(a: string, b: string): void {
    this.#account(a).known.add(b);
    this.#account(b).known.add(a);
  }

  // Account `from` sends message `id` to account `to`: passed (and then the two know each other) or refused.
  send(from: string, to: string, id: string, now: number): Verdict {
    const account = this.#account(from);
    const { policy } = account;
    if (!policy || account.known.has(to)) {
      this.exchanged(from, to);
      return 'pass';
    }
    this.#settle(account, policy, now);
    if (account.lockedUntil === null && account.firsts.length < policy.firstContacts) {
      account.firsts.push(now);
      this.exchanged(from, to);
      return 'pass';
    }
    account.lockedUntil ??= now + policy.lockMs;
    account.refused.push({ id, to, at: now });
    if (account.restricted || policy.restrictAfter === undefined || account.refused.length - account.forgiven < policy.restrictAfter) return 'refuse';
    account.restricted = true;
    return 'restrict';
  }

  // Refusals so far are forgiven: `restrictAfter` more restrict the account again.
  unrestrict(jid: string): void {
    const account = this.#account(jid);
    account.restricted = false;
    account.forgiven = account.refused.length;
  }

  isRestricted(jid: string): boolean {
    return this.#accounts.get(jid)?.restricted ?? false;
  }

  stateOf(jid: string, now: number): ReachOutState {
    const account = this.#account(jid);
    if (account.policy) this.#settle(account, account.policy, now);
    return {
      policy: account.policy && { ...account.policy },
      firstContactsInWindow: account.firsts.length,
      lockedUntil: account.lockedUntil,
      refused: account.refused.length,
      restricted: account.restricted,
      knownContacts: account.known.size,
      refusedMessages: account.refused.map((r) => ({ ...r })),
    };
  }

  // An expired lock ends with an empty window; otherwise first messages older than the window stop counting.
  #settle(account: Account, policy: ReachOutPolicy, now: number): void {
    if (account.lockedUntil !== null && now >= account.lockedUntil) {
      account.lockedUntil = null;
      account.firsts = [];
    }
    account.firsts = account.firsts.filter((at) => at > now - policy.windowMs);
  }
}
