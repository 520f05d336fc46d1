import type { Coordination } from '../../coordination/coordination.ts';

// WhatsApp keeps a presence subscription only as long as the connection that asked for it. The people a device
// asked about are remembered in the coordination store (not in the process: the session may reopen in another
// worker), so whoever holds the session subscribes again each time it connects.

export interface PresenceSubscriptions {
  remember(jid: string): Promise<void>;
  all(): Promise<string[]>;
  forget(): Promise<void>;
}

export function presenceSubscriptions(coordination: Coordination, deviceId: number): PresenceSubscriptions {
  const key = `presence-subscriptions:device-${deviceId}`;
  return {
    remember: (jid) => coordination.addToSet(key, jid),
    all: () => coordination.members(key),
    forget: () => coordination.delete(key),
  };
}
