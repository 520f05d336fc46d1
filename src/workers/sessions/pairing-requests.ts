import type { Redis } from 'ioredis';

// A pairing-code request travels from the API to whichever worker holds the session. It is kept in Redis for a
// while, so a host that opens the session later still finds it, and announced on a channel, so the host that
// holds the session now acts at once. Taking it is atomic (GETDEL): one request, one code.

const keyOf = (prefix: string, deviceId: number) => `${prefix}:pairing-request:device-${deviceId}`;
const channelOf = (prefix: string) => `${prefix}:session-commands`;

export async function requestPairing(redis: Redis, prefix: string, deviceId: number, phoneDigits: string, ttlMs: number): Promise<void> {
  await redis.set(keyOf(prefix, deviceId), phoneDigits, 'PX', ttlMs);
  await announceSession(redis, prefix, deviceId);
}

// Tells the session hosts a device wants attention now (a pairing request, or it was just set running): its holder
// looks for a request, the others scan for sessions to open at once instead of at their next interval.
export async function announceSession(redis: Redis, prefix: string, deviceId: number): Promise<void> {
  await redis.publish(channelOf(prefix), String(deviceId));
}

export function takePairingRequest(redis: Redis, prefix: string, deviceId: number): Promise<string | null> {
  return redis.getdel(keyOf(prefix, deviceId));
}

// Calls `onRequest` with the device id of every announced request. Uses a connection of its own (a subscribed
// connection can do nothing else).
export async function listenForPairingRequests(redis: Redis, prefix: string, onRequest: (deviceId: number) => void): Promise<{ close(): Promise<void> }> {
  const subscriber = redis.duplicate();
  subscriber.on('message', (_channel, message: string) => onRequest(Number(message)));
  await subscriber.subscribe(channelOf(prefix));
  return {
    async close() {
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
