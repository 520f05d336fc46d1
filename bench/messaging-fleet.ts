// Both sides of bench/messaging.bench.ts against one in-process WhatsApp simulator: the real platform (role all,
// sending limits off) with N devices linked through its API as a user links them, and N bare Baileys sockets
// linked with in-memory auth (none where the platform is only compared with itself: bench/modes.bench.ts). Each
// side has its own sender accounts and contacts, so neither side's companions receive copies of the other's sends
// (WhatsApp fans a sent message out to the sender's other devices).
import type { WASocket } from '@whiskeysockets/baileys';
import type { TestBackends } from '../tests/helpers/resources.ts';
import { until } from '../tests/helpers/wait.ts';
import { connectedCompanion } from '../simulator/companion.ts';
import { WhatsAppSimulator } from '../simulator/server.ts';
import { startBenchPlatform, UNPACED_SENDING, type BenchPlatform } from './platform.ts';
import { cleanupAll } from './stats.ts';

export interface PlatformSession {
  sessionId: string;
  // The contact this session writes to (a simulated phone's number).
  contact: string;
}

export interface BareSession {
  socket: WASocket;
  contact: string;
}

export interface MessagingFleet {
  sim: WhatsAppSimulator;
  platform: BenchPlatform;
  platformSessions: PlatformSession[];
  bareSessions: BareSession[];
  // Links `count` more platform devices (each with a contact of its own), as a user links them.
  addPlatformSessions(count: number): Promise<void>;
  close(): Promise<void>;
}

export interface FleetOptions {
  // Platform devices and, on sessions of their own, bare Baileys sockets.
  sessions: number;
  bareSessions: number;
  // The platform's stores (see tests/helpers/resources.ts).
  backends?: TestBackends;
  // Settings over UNPACED_SENDING (bench/profile.ts turns the send policy on).
  env?: Record<string, string>;
}

const number = (block: number, i: number) => `62819${block}${String(i).padStart(6, '0')}`;
const [PLATFORM_SENDERS, PLATFORM_CONTACTS, BARE_SENDERS, BARE_CONTACTS] = [1, 2, 3, 4];

// The parts of the device API's answers linking reads.
interface DeviceAnswer {
  device?: { id: number; sessionId: string };
  qr?: string;
  data?: { status?: string };
}

async function linkPlatformDevice(platform: BenchPlatform, sim: WhatsAppSimulator, i: number): Promise<string> {
  const headers = { 'x-api-token': platform.token, 'content-type': 'application/json' };
  const api = async (method: string, path: string, body?: object) => {
    const res = await fetch(`${platform.address}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as DeviceAnswer };
  };
  const created = await api('POST', '/api/whatsapp/devices', { alias: `bench${i}` });
  if (created.status !== 201) throw new Error(`creating device ${i}: ${created.status} ${JSON.stringify(created.body)}`);
  const { id, sessionId } = created.body.device!;
  const phone = sim.createPhone(number(PLATFORM_SENDERS, i)).number;
  const qr = await until(async () => {
    const res = await api('GET', `/api/whatsapp/devices/${id}/qr`);
    return res.status === 200 ? String(res.body.qr) : undefined;
  }, `a QR for device ${i}`);
  sim.scan(qr, phone);
  await until(async () => ((await api('GET', `/api/whatsapp/devices/${id}`)).body.data?.status === 'connected' ? true : undefined), `device ${i} connected`);
  return sessionId;
}

// Linking many devices at once would time out their QRs behind each other; this many link together.
const LINKING_AT_ONCE = 50;

export async function startMessagingFleet({ sessions, bareSessions: bareCount, backends = 'redis', env = {} }: FleetOptions): Promise<MessagingFleet> {
  const sim = new WhatsAppSimulator();
  const bare: WASocket[] = [];
  let platform: BenchPlatform | undefined;
  // Sockets end first (their receipts and retries stop), then the platform (its session host ends its sockets and
  // the database and keys go), then the simulator.
  const close = () =>
    cleanupAll('messaging', [
      () => {
        for (const socket of bare) socket.end(undefined);
      },
      () => platform?.close(),
      () => sim.close(),
    ]);
  try {
    const { url } = await sim.listen();
    platform = await startBenchPlatform(
      {
        ROLE: 'all',
        WA_WEBSOCKET_URL: url,
        ...UNPACED_SENDING,
        ...env,
      },
      backends,
    );
    const linked = platform;
    // Delivered receipts only: one receipt per message keeps the status pipeline's real work (message.delivered
    // recorded on the platform; messages.update processed by bare Baileys) without read receipts doubling it.
    const contactOf = (block: number, i: number) => {
      const contact = sim.createPhone(number(block, i)).number;
      sim.setReceipts(contact, { policy: 'delivered', delayMs: 0 });
      return contact;
    };
    const platformSessions: PlatformSession[] = [];
    const addPlatformSessions = async (count: number) => {
      for (let first = platformSessions.length, end = first + count; first < end; first += LINKING_AT_ONCE) {
        const indices = Array.from({ length: Math.min(LINKING_AT_ONCE, end - first) }, (_, k) => first + k);
        platformSessions.push(...(await Promise.all(indices.map(async (i) => ({ sessionId: await linkPlatformDevice(linked, sim, i), contact: contactOf(PLATFORM_CONTACTS, i) })))));
      }
    };
    await addPlatformSessions(sessions);
    const bareSessions = await Promise.all(
      Array.from({ length: bareCount }, async (_, i) => {
        const sender = sim.createPhone(number(BARE_SENDERS, i)).number;
        const { socket } = await connectedCompanion(url, (qr) => sim.scan(qr, sender));
        bare.push(socket);
        return { socket, contact: contactOf(BARE_CONTACTS, i) };
      }),
    );
    return { sim, platform, platformSessions, bareSessions, addPlatformSessions, close };
  } catch (err) {
    await close();
    throw err;
  }
}
