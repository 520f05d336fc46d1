import pg from 'pg';
import type { KeyFetch } from '../../simulator/prekeys.ts';
import type { WhatsAppSimulator } from '../../simulator/server.ts';
import { adminClient, freePort, stopProcess, untilReady, type PlatformProcess } from './processes.ts';
import { until } from './wait.ts';

// A session moving between worker processes: the worker holding it is SIGKILLed while it sends, and another
// worker's session host takes it over once the lease lapses. Shared by tests/session-takeover.e2e.test.ts (what a
// takeover must not do) and bench/takeover.bench.ts (how long it takes).

// What both drive: a simulator, and platform processes on one database and coordination store.
export interface TakeoverFleet {
  sim: WhatsAppSimulator;
  databaseUrl: string;
  start(env: Record<string, string>): PlatformProcess;
  leaseHolder(deviceId: number): Promise<number | undefined>;
}

export interface TakeoverDevice {
  id: number;
  sessionId: string;
  number: string;
  // Written to around every takeover; `idleContact` only once, before the first.
  contact: string;
  idleContact: string;
  // The device as the simulator knows it (`<number>:<n>@s.whatsapp.net`).
  jid: string;
}

export interface Takeover {
  // Date.now() just before the SIGKILL, and when the new holder recorded device.connecting and device.connected.
  killedAt: number;
  connectingAt: number;
  connectedAt: number;
  // The first of the round's texts at the contact's phone that the old holder cannot have sent.
  firstAt: number;
  // Pre-key bundles the device fetched from the kill until the round's last text arrived.
  keyFetches: KeyFetch[];
}

export type Api = (method: string, path: string, body?: unknown) => Promise<Record<string, any>>;

// An API process answering, and its client as the administrator.
export async function startApi(fleet: TakeoverFleet): Promise<Api> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  await untilReady(base, fleet.start({ ROLE: 'api', PORT: String(port) }));
  const client = adminClient(base);
  return async (method, path, body) => (await client(method, path, body)).body;
}

// A worker serves no HTTP: it is ready once it says so (at info; a standby that is still starting would only add its
// start-up to the next takeover).
export async function startWorker(fleet: TakeoverFleet): Promise<PlatformProcess> {
  const worker = fleet.start({ ROLE: 'worker', PORT: String(await freePort()), LOG_LEVEL: 'info' });
  await until(() => {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) throw new Error(`worker exited:\n${worker.output().slice(-4000)}`);
    return worker.output().includes('platform started') ? true : undefined;
  }, 'a worker started', 90_000);
  return worker;
}

// A device linked by QR to a new phone, connected, with two contacts it has written to once: the Signal sessions
// with them are in storage from then on.
export async function linkDevice(fleet: TakeoverFleet, api: Api, number: string, contact: string, idleContact: string): Promise<TakeoverDevice> {
  const { sim } = fleet;
  sim.createPhone(number);
  for (const each of [contact, idleContact]) {
    sim.createPhone(each);
    sim.setReceipts(each, { policy: 'delivered', delayMs: 0 });
  }
  const { device } = await api('POST', '/api/whatsapp/devices', { userId: 'admin', alias: `takeover-${number}` });
  const qr = await until(async () => (await api('GET', `/api/whatsapp/devices/${device.id}/qr`)).qr as string | undefined, `a QR for ${number}`);
  sim.scan(qr, number);
  await until(async () => ((await api('GET', `/api/whatsapp/devices/${device.id}`)).data?.status === 'connected' ? true : undefined), `${number} connected`, 60_000);
  const linked = { id: device.id, sessionId: device.sessionId, number, contact, idleContact, jid: [...sim.devices.keys()].find((j) => j.startsWith(`${number}:`))! };
  for (const to of [contact, idleContact]) {
    const res = await api('POST', '/api/whatsapp/send', { sessionId: linked.sessionId, phoneNumber: to, message: 'hello before any takeover' });
    if (!String(res.data?.messageId).startsWith('msg_')) throw new Error(`sending to ${to}: ${JSON.stringify(res)}`);
    await arrived(sim, to, ['hello before any takeover'], 90_000);
  }
  return linked;
}

// The jids a pre-key fetch may name an account by (Baileys asks by LID).
export function jidsOf(sim: WhatsAppSimulator, number: string): string[] {
  const phone = sim.phones.get(number);
  return phone ? [phone.jid, `${phone.lid}@lid`] : [];
}

const arrived = (sim: WhatsAppSimulator, contact: string, texts: string[], timeoutMs: number) =>
  until(() => {
    const seen = new Set(sim.inbox(contact).map((m) => m.text));
    return texts.every((t) => seen.has(t)) ? true : undefined;
  }, `${texts.length} texts at ${contact}`, timeoutMs);

// Nothing the old holder wrote reaches the simulator this long after its SIGKILL.
const OLD_HOLDER_SILENT_MS = 500;

// Queues `messages` texts, SIGKILLs the worker holding the session once two of them have reached the contact, and
// follows the takeover until every text has arrived. The killed worker is removed from `workers`.
export async function killHolderMidSend(fleet: TakeoverFleet, api: Api, device: TakeoverDevice, workers: PlatformProcess[], label: string, messages = 12): Promise<Takeover> {
  const { sim } = fleet;
  const texts = Array.from({ length: messages }, (_, i) => `${label} #${i}`);
  const sent = (async () => {
    for (const message of texts) await api('POST', '/api/whatsapp/send', { sessionId: device.sessionId, phoneNumber: device.contact, message });
  })();
  await arrived(sim, device.contact, texts.slice(0, 2), 30_000);
  const pid = await fleet.leaseHolder(device.id);
  const holder = workers.find((w) => w.child.pid === pid && w.child.exitCode === null && w.child.signalCode === null);
  if (!holder) throw new Error(`no running worker holds device ${device.id} (lease holder pid ${pid})`);
  const killedAt = Date.now();
  await stopProcess(holder, 'SIGKILL');
  workers.splice(workers.indexOf(holder), 1);
  await sent;

  const ours = new Set(texts);
  const firstAt = await until(() => sim.inbox(device.contact).find((m) => ours.has(m.text) && m.receivedAt > killedAt + OLD_HOLDER_SILENT_MS)?.receivedAt, `${label}: a text after the takeover`, 90_000);
  await arrived(sim, device.contact, texts, 90_000);
  const doneAt = Date.now();

  const db = new pg.Client({ connectionString: fleet.databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ type: string; at: Date }>(
      `select type, recorded_at as at from events where stream_id = $1 and recorded_at > to_timestamp($2 / 1000.0) order by global_position`,
      [`device-${device.id}`, killedAt],
    );
    const at = (type: string) => {
      const found = rows.find((r) => r.type === type);
      if (!found) throw new Error(`${label}: no ${type} after the kill (events: ${rows.map((r) => r.type).join(', ')})`);
      return found.at.getTime();
    };
    return {
      killedAt,
      connectingAt: at('device.connecting'),
      connectedAt: at('device.connected'),
      firstAt,
      keyFetches: sim.prekeys.fetches.filter((f) => f.by === device.jid && f.at >= killedAt && f.at <= doneAt),
    };
  } finally {
    await db.end();
  }
}
