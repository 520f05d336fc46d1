import type { Redis } from 'ioredis';

// WhatsApp keeps a presence subscription only as long as the connection that asked for it. The people a device
// asked about are remembered in Redis (not in the process: the session may reopen in another worker), so whoever
// holds the session subscribes again each time it connects.

export interface PresenceSubscriptions {
  remember(jid: string): Promise<void>;
  all(): Promise<string[]>;
  forget(): Promise<void>;
}

export function presenceSubscriptions(redis: Redis, prefix: string, deviceId: number): PresenceSubscriptions {
  const key = `${prefix}:presence-subscriptions:device-${deviceId}`;
  return {
    remember: async (jid) => void (await redis.sadd(key, jid)),
    all: () => redis.smembers(key),
    forget: async () => void (await redis.del(key)),
  };
}
