import type { Coordination, Subscription } from '../../coordination/coordination.ts';

// A pairing-code request travels from the API to whichever worker holds the session. It is kept for a while, so a
// host that opens the session later still finds it, and announced on a channel, so the host that holds the session
// now acts at once. Taking it is atomic: one request, one code.

const keyOf = (deviceId: number) => `pairing-request:device-${deviceId}`;
const CHANNEL = 'session-commands';

export async function requestPairing(coordination: Coordination, deviceId: number, phoneDigits: string, ttlMs: number): Promise<void> {
  await coordination.set(keyOf(deviceId), phoneDigits, ttlMs);
  await announceSession(coordination, deviceId);
}

// Tells the session hosts a device wants attention now (a pairing request, or it was just set running): its holder
// looks for a request, the others scan for sessions to open at once instead of at their next interval.
export async function announceSession(coordination: Coordination, deviceId: number): Promise<void> {
  await coordination.publish(CHANNEL, String(deviceId));
}

export function takePairingRequest(coordination: Coordination, deviceId: number): Promise<string | undefined> {
  return coordination.take(keyOf(deviceId));
}

// Calls `onRequest` with the device id of every announced request.
export function listenForPairingRequests(coordination: Coordination, onRequest: (deviceId: number) => void): Promise<Subscription> {
  return coordination.subscribe(CHANNEL, (message) => onRequest(Number(message)));
}
