// Both sides of bench/media.bench.ts against one in-process WhatsApp simulator: the real platform (role all, local
// file storage in a temporary directory, no quota, sending limits as low as config allows) with one device linked
// through its API, and one bare Baileys socket linked with in-memory auth on an account of its own. The process
// trusts the simulator's media certificate, since both sides upload media to it over HTTPS.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WASocket } from '@whiskeysockets/baileys';
import { connectedCompanion } from '../simulator/companion.ts';
import { WhatsAppSimulator } from '../simulator/server.ts';
import { trustSimulator } from '../simulator/trust.ts';
import { until } from '../tests/helpers/wait.ts';
import { startBenchPlatform, UNPACED_SENDING, type BenchPlatform } from './platform.ts';
import { cleanupAll } from './stats.ts';

export interface MediaRig {
  sim: WhatsAppSimulator;
  platform: BenchPlatform;
  // The owner of the platform's device and of the files uploaded with `token`.
  username: string;
  sessionId: string;
  socket: WASocket;
  close(): Promise<void>;
}

const PLATFORM_SENDER = '6281950000001';
const BARE_SENDER = '6281950000002';

async function linkDevice(platform: BenchPlatform, sim: WhatsAppSimulator): Promise<string> {
  const headers = { 'x-api-token': platform.token, 'content-type': 'application/json' };
  const api = async (method: string, path: string, body?: object) => {
    const res = await fetch(`${platform.address}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as { device?: { id: number; sessionId: string }; qr?: string; data?: { status?: string } } };
  };
  const created = await api('POST', '/api/whatsapp/devices', { alias: 'media-bench' });
  if (created.status !== 201) throw new Error(`creating the device: ${created.status} ${JSON.stringify(created.body)}`);
  const { id, sessionId } = created.body.device!;
  const qr = await until(async () => {
    const res = await api('GET', `/api/whatsapp/devices/${id}/qr`);
    return res.status === 200 ? String(res.body.qr) : undefined;
  }, 'a QR for the device');
  sim.scan(qr, sim.createPhone(PLATFORM_SENDER).number);
  await until(async () => ((await api('GET', `/api/whatsapp/devices/${id}`)).body.data?.status === 'connected' ? true : undefined), 'the device connected');
  return sessionId;
}

export async function startMediaRig(): Promise<MediaRig> {
  const sim = new WhatsAppSimulator();
  const storageDir = await mkdtemp(join(tmpdir(), 'wa-bench-media-'));
  let platform: BenchPlatform | undefined;
  let socket: WASocket | undefined;
  const close = () =>
    cleanupAll('media', [
      () => socket?.end(undefined),
      () => platform?.close(),
      () => sim.close(),
      () => rm(storageDir, { recursive: true, force: true }),
    ]);
  try {
    const { url, caPem } = await sim.listen();
    trustSimulator(caPem);
    platform = await startBenchPlatform({
      ROLE: 'all',
      WA_WEBSOCKET_URL: url,
      STORAGE_DRIVER: 'local',
      STORAGE_DIR: storageDir,
      FILE_QUOTA_BYTES: '0',
      ...UNPACED_SENDING,
    });
    const sessionId = await linkDevice(platform, sim);
    const bare = sim.createPhone(BARE_SENDER).number;
    ({ socket } = await connectedCompanion(url, (qr) => sim.scan(qr, bare)));
    return { sim, platform, username: platform.app.config.adminUsername, sessionId, socket, close };
  } catch (err) {
    await close();
    throw err;
  }
}
