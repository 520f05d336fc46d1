import type { Coordination } from '../../coordination/coordination.ts';

// Exactly one owner per WhatsApp session across worker processes: a lease with a time to live, renewed by its holder,
// and a fencing token that grows with every acquisition (a write stamped with an older token comes from a holder that
// lost the lease). A holder that cannot renew in time treats the lease as lost *before* it lapses in the store — so it
// closes its socket before anyone else can open one.

export interface LeaseOptions {
  coordination: Coordination;
  owner: string;
  ttlMs?: number;
  // The fence the device last recorded: the new token is larger.
  above?: number;
}

export interface Lease {
  token: number;
  // Resolves when the lease is lost (renewal failed or was refused) or released.
  lost: Promise<'lost' | 'released'>;
  release(): Promise<void>;
}

// Losing early by this share of the TTL leaves room for clock drift and a slow close.
const SAFETY = 0.2;

export async function acquireLease(name: string, { coordination, owner, ttlMs = 15_000, above }: LeaseOptions): Promise<Lease | undefined> {
  const token = await coordination.acquireLease(name, owner, ttlMs, above);
  if (token === undefined) return undefined;

  let settle: (reason: 'lost' | 'released') => void = () => {};
  const lost = new Promise<'lost' | 'released'>((resolve) => (settle = resolve));
  let done = false;
  let deadline: NodeJS.Timeout;
  const finish = (reason: 'lost' | 'released') => {
    if (done) return;
    done = true;
    clearInterval(renewal);
    clearTimeout(deadline);
    settle(reason);
  };
  const armDeadline = () => {
    clearTimeout(deadline);
    deadline = setTimeout(() => finish('lost'), ttlMs * (1 - SAFETY));
  };
  armDeadline();
  const renewal = setInterval(() => {
    coordination
      .renewLease(name, owner, token, ttlMs)
      .then((renewed) => (renewed ? armDeadline() : finish('lost')))
      .catch(() => {
        // Unreachable store: keep trying until the deadline says the lease is gone.
      });
  }, ttlMs / 3);

  return {
    token,
    lost,
    async release() {
      if (done) return;
      finish('released');
      await coordination.releaseLease(name, owner, token).catch(() => {});
    },
  };
}
