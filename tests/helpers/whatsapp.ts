import { after, before } from 'node:test';
import { WhatsAppSimulator } from '../../simulator/server.ts';
import { trustSimulator } from '../simulator/harness.ts';
import { bearer, createUser, startTestPlatform, type TestPlatform } from './platform.ts';
import { until } from './wait.ts';

export interface LinkedDevice {
  id: number;
  sessionId: string;
  apiKey: string;
  // The phone (simulated account) the device is linked to.
  number: string;
}

// Creates a device through the API and has a new simulated phone scan its QR; resolves once it is connected.
export async function linkDevice(platform: TestPlatform, sim: WhatsAppSimulator, token: string, alias: string, number: string): Promise<LinkedDevice> {
  const created = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers: bearer(token), payload: { alias } });
  if (created.statusCode !== 201) throw new Error(`creating device ${alias}: ${created.body}`);
  const { id, sessionId, apiKey } = created.json().device;
  sim.createPhone(number);
  const qr = await until(async () => {
    const res = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${id}/qr`, headers: bearer(token) });
    return res.statusCode === 200 ? String(res.json().qr) : undefined;
  }, `a QR for ${alias}`);
  sim.scan(qr, number);
  await until(async () => {
    const res = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${id}`, headers: bearer(token) });
    return res.json().data.status === 'connected' ? true : undefined;
  }, `${alias} connected`);
  return { id, sessionId, apiKey, number };
}

export interface LinkedPlatform {
  sim: WhatsAppSimulator;
  platform: TestPlatform;
  // The platform's HTTP address (it also listens, for SSE and WebSocket clients).
  base: string;
  user: { id: number; username: string; token: string };
  // A device of `user`, linked to a simulated phone and connected.
  device: LinkedDevice;
}

// A test file's platform against its own simulator, with one user and one connected device, closed after the file.
// `ready` receives it at the end of the `before` hook (root hooks may run concurrently, so a second hook could not
// wait for this one).
export function useLinkedPlatform(
  env: Record<string, string>,
  owner: { username: string; alias: string; number: string },
  ready: (linked: LinkedPlatform) => void,
): void {
  const linked = {} as LinkedPlatform;
  before(async () => {
    linked.sim = new WhatsAppSimulator();
    const { url, caPem } = await linked.sim.listen();
    trustSimulator(caPem);
    linked.platform = await startTestPlatform({ WA_WEBSOCKET_URL: url, SESSION_SCAN_INTERVAL: '200ms', SESSION_LEASE_TTL: '3s', SEND_JITTER: '0', ...env });
    linked.base = await linked.platform.app.listen({ port: 0, host: '127.0.0.1' });
    linked.user = await createUser(linked.platform, owner.username);
    linked.device = await linkDevice(linked.platform, linked.sim, linked.user.token, owner.alias, owner.number);
    ready(linked);
  });
  after(async () => {
    await linked.platform?.close();
    await linked.sim?.close();
  });
}
