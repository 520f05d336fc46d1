import type { EntityManager } from '@mikro-orm/postgresql';
import type { Coordination } from '../coordination/coordination.ts';
import type { Device } from '../db/entities/device.ts';
import { listenFor } from '../events/event-wait.ts';
import type { LiveFeed } from '../events/live-feed.ts';
import { announceSession } from '../workers/sessions/pairing-requests.ts';
import { SCREEN_CHANGES, screenOf, setDesiredState } from './devices.ts';

export interface StartDeps {
  em: EntityManager;
  coordination: Coordination;
  liveFeed: LiveFeed;
  waitMs: number;
}

// What the session showed first: a QR to scan, the connection, or neither within the wait (the session was not
// opened in time, or it closed: the QR then follows on WebSocket, SSE and GET …/qr, or not at all).
export type Shown = { qr: string } | { connected: true } | Record<string, never>;

// Seed 004's creation and login answers carry the QR "if needed": set the device running, wake the session hosts
// (rather than leave it to their next scan), and wait up to `waitMs` for the first change to what its session shows.
// A QR already on screen answers at once; so does a device already connected.
export async function startAndShow(deps: StartDeps, device: Device): Promise<Shown> {
  const wait = await listenFor(deps.liveFeed, { tenantId: device.user.id, deviceId: device.id, types: SCREEN_CHANGES });
  try {
    // Read before acting: the live feed may lag the store, so a change its stream already held (the last QR
    // running out, say) can still arrive on the wait and must not pass for the answer.
    const before = await screenOf(deps.em, device);
    await setDesiredState(deps.em, device, 'running');
    if (device.status === 'connected') return { connected: true };
    if (before.qr) return { qr: String(before.qr.data.qr) };
    await announceSession(deps.coordination, device.id);
    const event = await wait.next((e) => (e.streamId === `device-${device.id}` && e.streamVersion > before.version ? e : undefined), deps.waitMs);
    if (event?.type === 'device.qr-issued') return { qr: String(event.data.qr) };
    return event?.type === 'device.connected' ? { connected: true } : {};
  } finally {
    wait.close();
  }
}
