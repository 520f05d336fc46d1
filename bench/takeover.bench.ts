// Session takeover between worker processes (BENCH_TAKEOVER_ROUNDS rounds, default 5), with SESSION_LEASE_TTL=5s and
// SESSION_SCAN_INTERVAL=1s: an API and two workers run src/main.ts against the in-process simulator; each round
// queues texts to a contact, SIGKILLs the worker holding the session once two have arrived, and times SIGKILL → the
// new holder's device.connecting → device.connected → the first text at the contact's phone (tests/helpers/
// takeover.ts), then starts a fresh standby worker. Also counted: pre-key bundles the device fetched per takeover
// (the simulator's `key-fetches`), each a new Signal session and one of the contact's one-time pre-keys: none for
// what was in storage, one when the kill cut a send off between its frame and its stored ratchet (send-window.ts).
//
// The raw component, in the same run: a bare Baileys socket (in-memory auth, its own account and contact) that has
// written to its contact, ended, and a new socket from the same creds and keys: makeWASocket → connection open →
// sendMessage at once → the text at the phone. A takeover cannot beat the lease TTL (the lapse it waits for) plus that.
// Runs in a child process (child-run.ts).
import { writeFile, rm } from 'node:fs/promises';
import type { WASocket } from '@whiskeysockets/baileys';
import { connectedCompanion, openCompanion } from '../simulator/companion.ts';
import type { KeyFetch } from '../simulator/prekeys.ts';
import { WhatsAppSimulator } from '../simulator/server.ts';
import { openTestCoordination, type Instance } from '../tests/helpers/coordination.ts';
import { startPlatformProcess, stopProcess, type PlatformProcess } from '../tests/helpers/processes.ts';
import { createTestResources } from '../tests/helpers/resources.ts';
import { killHolderMidSend, linkDevice, startApi, startWorker, type Takeover, type TakeoverFleet } from '../tests/helpers/takeover.ts';
import { until } from '../tests/helpers/wait.ts';
import { rowsFromChild, serveRows } from './child-run.ts';
import { cleanupAll, cpuSteal, percentile, warnOnSteal } from './stats.ts';
import type { Row } from './types.ts';

const ROUNDS = Number(process.env.BENCH_TAKEOVER_ROUNDS ?? 5);
const LEASE_TTL_MS = 5000;

interface BareRelogin {
  createdAt: number;
  openAt: number;
  firstAt: number;
  keyFetches: KeyFetch[];
}

// The baseline's round: the old socket ends (its in-memory caches go with it), a new one logs in and sends.
async function bareRelogin(sim: WhatsAppSimulator, url: string, bare: { socket: WASocket; auth: Parameters<typeof openCompanion>[1]; jid: string; contact: string }, text: string): Promise<BareRelogin> {
  const closed = new Promise((resolve) => bare.socket.ev.on('connection.update', (u) => u.connection === 'close' && resolve(undefined)));
  bare.socket.end(undefined);
  await closed;
  const createdAt = Date.now();
  const { socket } = await openCompanion(url, bare.auth);
  bare.socket = socket;
  const openAt = Date.now();
  await socket.sendMessage(`${bare.contact}@s.whatsapp.net`, { text });
  const firstAt = await until(() => sim.inbox(bare.contact).find((m) => m.text === text)?.receivedAt, `bare: ${text}`);
  return { createdAt, openAt, firstAt, keyFetches: sim.prekeys.fetches.filter((f) => f.by === bare.jid && f.at >= createdAt) };
}

async function measure(): Promise<Row[]> {
  const resources = createTestResources('bench');
  const sim = new WhatsAppSimulator();
  const running: PlatformProcess[] = [];
  let coordination: Instance | undefined;
  let bareSocket: WASocket | undefined;
  const caFile = `${resources.dataDir}-simulator-ca.pem`;
  try {
    const { url, caPem } = await sim.listen();
    await writeFile(caFile, caPem);
    const fleet: TakeoverFleet = {
      sim,
      databaseUrl: resources.databaseUrl,
      start(env) {
        const started = startPlatformProcess(resources, {
          WA_WEBSOCKET_URL: url,
          NODE_EXTRA_CA_CERTS: caFile,
          RATE_LIMIT_ENABLED: 'false',
          SESSION_LEASE_TTL: `${LEASE_TTL_MS}ms`,
          SESSION_SCAN_INTERVAL: '1s',
          SEND_MIN_INTERVAL: '200ms',
          SEND_JITTER: '0',
          LOG_LEVEL: 'warn',
          ...env,
        });
        running.push(started);
        return started;
      },
      async leaseHolder(deviceId) {
        coordination ??= await openTestCoordination(resources);
        const holder = await coordination.coordination.leaseHolder(`device-${deviceId}`);
        return holder ? Number(holder.owner.split(':').at(-1)) : undefined;
      },
    };
    console.error(`takeover: an API and two workers, one device; ${ROUNDS} rounds, lease TTL ${LEASE_TTL_MS} ms…`);
    const api = await startApi(fleet);
    const workers = [await startWorker(fleet), await startWorker(fleet)];
    const device = await linkDevice(fleet, api, '6282100000001', '6282100000002', '6282100000005');

    const bareNumber = sim.createPhone('6282100000003').number;
    const bareContact = sim.createPhone('6282100000004').number;
    sim.setReceipts(bareContact, { policy: 'delivered', delayMs: 0 });
    const linked = await connectedCompanion(url, (qr) => sim.scan(qr, bareNumber));
    const bare = { socket: linked.socket, auth: linked.auth, jid: [...sim.devices.keys()].find((j) => j.startsWith(`${bareNumber}:`))!, contact: bareContact };
    bareSocket = bare.socket;
    await bare.socket.sendMessage(`${bareContact}@s.whatsapp.net`, { text: 'bare hello' });
    await until(() => (sim.inbox(bareContact).some((m) => m.text === 'bare hello') ? true : undefined), 'bare hello');

    const takeovers: Takeover[] = [];
    const relogins: BareRelogin[] = [];
    const steal = cpuSteal();
    for (let round = 0; round < ROUNDS; round++) {
      const t = await killHolderMidSend(fleet, api, device, workers, `takeover r${round}`);
      takeovers.push(t);
      console.error(
        `takeover r${round}: connecting +${t.connectingAt - t.killedAt} ms, connected +${t.connectedAt - t.killedAt} ms, first text +${t.firstAt - t.killedAt} ms, ${t.keyFetches.length} key fetches ${JSON.stringify(t.keyFetches.map((f) => f.of))}`,
      );
      workers.push(await startWorker(fleet));
      const b = await bareRelogin(sim, url, bare, `bare r${round}`);
      bareSocket = bare.socket;
      relogins.push(b);
      console.error(`bare r${round}: open +${b.openAt - b.createdAt} ms, first text +${b.firstAt - b.createdAt} ms, ${b.keyFetches.length} key fetches ${JSON.stringify(b.keyFetches.map((f) => f.of))}`);
    }
    warnOnSteal('takeover', steal());

    const name = `takeover: SIGKILL of the holding worker mid-send, lease TTL ${LEASE_TTL_MS / 1000} s, scan 1 s (platform vs bare Baileys re-login from the same creds)`;
    const median = (samples: number[]) => percentile(samples, 0.5);
    const platform = (pick: (t: Takeover) => number) => median(takeovers.map(pick));
    const baseline = (pick: (b: BareRelogin) => number) => median(relogins.map(pick));
    const row = (metric: string, p: number, b: number, unit: string): Row => ({ name, metric, platform: p, baseline: b, unit, ratio: b > 0 ? p / b : null, better: 'lower' });
    return [
      row(`SIGKILL → first text at the phone (median of ${ROUNDS}; baseline: lease TTL + bare new socket → text at the phone)`, platform((t) => t.firstAt - t.killedAt), LEASE_TTL_MS + baseline((b) => b.firstAt - b.createdAt), 'ms'),
      row('SIGKILL → device.connecting (baseline: the lease TTL, the lapse a takeover waits for)', platform((t) => t.connectingAt - t.killedAt), LEASE_TTL_MS, 'ms'),
      row('device.connecting → device.connected (baseline: makeWASocket → connection open)', platform((t) => t.connectedAt - t.connectingAt), baseline((b) => b.openAt - b.createdAt), 'ms'),
      row('device.connected → first text at the phone (baseline: open → sendMessage → text at the phone)', platform((t) => t.firstAt - t.connectedAt), baseline((b) => b.firstAt - b.openAt), 'ms'),
      row('pre-key bundle fetches per takeover (median; baseline: per bare re-login)', platform((t) => t.keyFetches.length), baseline((b) => b.keyFetches.length), 'fetches'),
    ];
  } finally {
    await cleanupAll('takeover', [
      () => bareSocket?.end(undefined),
      () => Promise.all(running.map((p) => stopProcess(p, 'SIGKILL'))),
      () => coordination?.close(),
      () => sim.close(),
      () => resources.cleanup(),
      () => rm(caFile, { force: true }),
    ]);
  }
}

export default (): Promise<Row[]> => rowsFromChild(import.meta.filename, 'takeover', 15 * 60_000);

if (import.meta.main) await serveRows(measure);
