import type { Redis } from 'ioredis';

// Exactly one owner per WhatsApp session across worker processes: a lease in Redis with a time to live, renewed
// by its holder, and a fencing token that grows with every acquisition (a write stamped with an older token
// comes from a holder that lost the lease). A holder that cannot renew in time treats the lease as lost *before*
// it expires in Redis — so it closes its socket before anyone else can open one.

export interface LeaseOptions {
  redis: Redis;
  prefix: string;
  owner: string;
  ttlMs?: number;
}

export interface Lease {
  token: number;
  // Resolves when the lease is lost (renewal failed or was refused) or released.
  lost: Promise<'lost' | 'released'>;
  release(): Promise<void>;
}

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

// Losing early by this share of the TTL leaves room for clock drift and a slow close.
const SAFETY = 0.2;

export async function acquireLease(name: string, { redis, prefix, owner, ttlMs = 15_000 }: LeaseOptions): Promise<Lease | undefined> {
  const key = `${prefix}:lease:${name}`;
  const token = await redis.incr(`${prefix}:lease-token:${name}`);
  const value = `${owner}:${token}`;
  if ((await redis.set(key, value, 'PX', ttlMs, 'NX')) !== 'OK') return undefined;

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
    redis
      .eval(RENEW, 1, key, value, String(ttlMs))
      .then((renewed) => (renewed === 1 ? armDeadline() : finish('lost')))
      .catch(() => {
        // Unreachable Redis: keep trying until the deadline says the lease is gone.
      });
  }, ttlMs / 3);

  return {
    token,
    lost,
    async release() {
      if (done) return;
      finish('released');
      await redis.eval(RELEASE, 1, key, value).catch(() => {});
    },
  };
}
