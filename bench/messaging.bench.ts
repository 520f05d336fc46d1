// End-to-end sending through N simulated sessions (BENCH_MESSAGING_SESSIONS, default 20) with every sending limit
// off, against the raw component: bare Baileys sockets calling `sendMessage` in a loop on sessions of their own in
// the same simulator and run. Measured at the simulator, as the phones receive the texts:
// - a burst of M texts per session (BENCH_MESSAGES_PER_SESSION, default 50). Platform: one HTTP client per session
//   posting its M texts to POST /api/whatsapp/send one after another (each answers 202 once message.queued is in the
//   log; the dispatcher, the session's BullMQ queue and sender, Baileys, then message.sent and message.delivered
//   follow). Baseline: per session, `await sock.sendMessage` M times, all sessions at once — sequential per session
//   as the platform's queue (concurrency 1) is. Messages/s from the first request to the last text at a phone.
//   The platform also waits for WhatsApp's server ack and records `sent` before its next job (at most once);
//   `sendMessage` resolves when the stanza is written.
// - latency at a light load (each session one text a second, sessions staggered: no queueing on either side), from
//   asking (POST sent / `sendMessage` called) and from the platform's 202, to the text at the phone. The simulator
//   stamps arrivals with Date.now(): whole milliseconds.
// The contacts send delivered receipts only (see messaging-fleet.ts). Everything runs in a child process: Baileys
// keeps timers alive for ~30 s after its sockets end, which would hold bench/run.ts (and the benchmarks after this
// one) up; the child exits once it has cleaned up and handed its rows over.
import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { until } from '../tests/helpers/wait.ts';
import type { WhatsAppSimulator } from '../tests/wa-sim/server.ts';
import { startMessagingFleet, type MessagingFleet } from './messaging-fleet.ts';
import { cpuSteal, percentile, warnOnSteal } from './stats.ts';
import type { Row } from './types.ts';

const SESSIONS = Number(process.env.BENCH_MESSAGING_SESSIONS ?? 20);
const PER_SESSION = Number(process.env.BENCH_MESSAGES_PER_SESSION ?? 50);
const ROUNDS = 2;
const PACED_PER_SESSION = 5;
const PACED_INTERVAL_MS = 1000;
const POLL_MS = 5;
const TIMEOUT_MS = 120_000;

type Side = 'platform' | 'baseline';

interface Sender {
  contact: string;
  // Resolves when the side has taken the text: with the time of the 202 (platform), or undefined (baseline).
  send(text: string): Promise<number | undefined>;
}

interface Burst {
  perS: number;
  cpuMsPerMessage: number;
  // Seconds until every text was accepted (platform: the last 202; baseline: the last sendMessage resolved).
  takenS: number;
}

interface Latencies {
  asked: number[];
  accepted: number[];
}

// When each awaited text reached its phone, polling the contacts' inboxes (they only grow); a text arriving twice
// fails the run, since both sides must deliver exactly once.
async function arrivals(sim: WhatsAppSimulator, contacts: string[], texts: Set<string>): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const cursors = contacts.map(() => 0);
  const deadline = Date.now() + TIMEOUT_MS;
  while (seen.size < texts.size) {
    contacts.forEach((contact, i) => {
      const inbox = sim.inbox(contact);
      for (; cursors[i]! < inbox.length; cursors[i]!++) {
        const { text, receivedAt } = inbox[cursors[i]!]!;
        if (!texts.has(text)) continue;
        if (seen.has(text)) throw new Error(`"${text}" reached ${contact} twice`);
        seen.set(text, receivedAt);
      }
    });
    if (Date.now() > deadline) throw new Error(`${seen.size} of ${texts.size} texts arrived within ${TIMEOUT_MS / 1000} s`);
    if (seen.size < texts.size) await sleep(POLL_MS);
  }
  return seen;
}

function sendersOf(fleet: MessagingFleet, side: Side): Sender[] {
  if (side === 'baseline') {
    return fleet.bareSessions.map(({ socket, contact }) => ({
      contact,
      send: async (text) => void (await socket.sendMessage(`${contact}@s.whatsapp.net`, { text })),
    }));
  }
  const headers = { 'x-api-token': fleet.platform.token, 'content-type': 'application/json' };
  return fleet.platformSessions.map(({ sessionId, contact }) => ({
    contact,
    send: async (text) => {
      const res = await fetch(`${fleet.platform.address}/api/whatsapp/send`, { method: 'POST', headers, body: JSON.stringify({ sessionId, phoneNumber: contact, message: text }) });
      if (res.status !== 202) throw new Error(`send answered ${res.status}: ${await res.text()}`);
      return Date.now();
    },
  }));
}

async function burst(fleet: MessagingFleet, side: Side, label: string, perSession: number): Promise<Burst> {
  const senders = sendersOf(fleet, side);
  const texts = senders.map((_, i) => Array.from({ length: perSession }, (_, k) => `${label} s${i} m${k}`));
  const arrived = arrivals(fleet.sim, senders.map((s) => s.contact), new Set(texts.flat()));
  // Should a send fail, that failure is the one reported; the poll's own timeout must not crash the process later.
  arrived.catch(() => {});
  const cpu = process.cpuUsage();
  const startedAt = Date.now();
  await Promise.all(senders.map(async (sender, i) => {
    for (const text of texts[i]!) await sender.send(text);
  }));
  const takenS = (Date.now() - startedAt) / 1000;
  const last = Math.max(...(await arrived).values());
  const { user, system } = process.cpuUsage(cpu);
  const total = senders.length * perSession;
  return { perS: (total / (last - startedAt)) * 1000, cpuMsPerMessage: (user + system) / 1000 / total, takenS };
}

async function paced(fleet: MessagingFleet, side: Side, label: string): Promise<Latencies> {
  const senders = sendersOf(fleet, side);
  const asks: { text: string; askedAt: number; acceptedAt: number | undefined }[] = [];
  const texts = new Set(senders.flatMap((_, i) => Array.from({ length: PACED_PER_SESSION }, (_, k) => `${label} s${i} m${k}`)));
  const arrived = arrivals(fleet.sim, senders.map((s) => s.contact), texts);
  arrived.catch(() => {});
  await Promise.all(senders.map(async (sender, i) => {
    await sleep((i * PACED_INTERVAL_MS) / senders.length);
    for (let k = 0; k < PACED_PER_SESSION; k++) {
      const text = `${label} s${i} m${k}`;
      const askedAt = Date.now();
      asks.push({ text, askedAt, acceptedAt: await sender.send(text) });
      await sleep(Math.max(0, askedAt + PACED_INTERVAL_MS - Date.now()));
    }
  }));
  const at = await arrived;
  return {
    asked: asks.map((a) => at.get(a.text)! - a.askedAt),
    accepted: asks.map((a) => at.get(a.text)! - (a.acceptedAt ?? a.askedAt)),
  };
}

// The platform keeps working after its texts arrive (receipts recorded as message.delivered, projections): the
// next measurement starts once that is done, so neither side pays for the other's leftovers.
async function settle(db: pg.Client, deliveredExpected: number): Promise<void> {
  await until(async () => {
    const { rows } = await db.query(
      `select (select count(*) from events where type = 'message.delivered')::int as delivered,
              (select min(global_position) from projection_checkpoints) >= (select max(global_position) from events) as caught_up`,
    );
    return rows[0]!.delivered >= deliveredExpected && rows[0]!.caught_up ? true : undefined;
  }, `${deliveredExpected} deliveries recorded and projections caught up`, TIMEOUT_MS);
  await sleep(200);
}

async function measure(): Promise<Row[]> {
  for (const [name, value] of [['BENCH_MESSAGING_SESSIONS', SESSIONS], ['BENCH_MESSAGES_PER_SESSION', PER_SESSION]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name}="${process.env[name]}" must be a whole number ≥ 1`);
  }
  console.error(`messaging: linking ${SESSIONS} platform devices and ${SESSIONS} bare Baileys sockets through the simulator…`);
  const fleet = await startMessagingFleet(SESSIONS);
  const db = new pg.Client({ connectionString: fleet.platform.app.config.databaseUrl });
  try {
    await db.connect();
    let platformSent = 0;
    const after = async (side: Side, count: number) => {
      if (side === 'platform') await settle(db, (platformSent += count));
      else await sleep(500);
    };
    // One text per session first: Signal sessions with each contact are set up (a pre-key fetch each), and the
    // platform's send workers and Baileys' code paths are warm, on both sides alike.
    for (const side of ['baseline', 'platform'] as const) {
      await burst(fleet, side, `warm-up ${side}`, 1);
      await after(side, SESSIONS);
    }
    const bursts: Record<Side, Burst[]> = { platform: [], baseline: [] };
    const latencies: Record<Side, Latencies> = { platform: { asked: [], accepted: [] }, baseline: { asked: [], accepted: [] } };
    const steal = cpuSteal();
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of ['baseline', 'platform'] as const) {
        const result = await burst(fleet, side, `burst ${side} r${round}`, PER_SESSION);
        console.error(`messaging: ${side} burst ${round}: ${result.perS.toFixed(0)} messages/s, all taken after ${result.takenS.toFixed(2)} s, ${result.cpuMsPerMessage.toFixed(2)} ms CPU per message`);
        bursts[side].push(result);
        await after(side, SESSIONS * PER_SESSION);
      }
      for (const side of ['baseline', 'platform'] as const) {
        const result = await paced(fleet, side, `paced ${side} r${round}`);
        latencies[side].asked.push(...result.asked);
        latencies[side].accepted.push(...result.accepted);
        await after(side, SESSIONS * PACED_PER_SESSION);
      }
    }
    warnOnSteal('messaging', steal());

    const name = `messaging: ${SESSIONS} sessions, limits off, at the simulator (platform POST /send vs bare Baileys sendMessage loop)`;
    const median = (side: Side, pick: (b: Burst) => number) => percentile(bursts[side].map(pick), 0.5);
    const row = (metric: string, platform: number, baseline: number, unit: string, better: Row['better']): Row => ({
      name,
      metric,
      platform,
      baseline,
      unit,
      ratio: platform / baseline,
      better,
    });
    const pct = (side: Side, kind: keyof Latencies, p: number) => percentile(latencies[side][kind], p);
    const load = `${SESSIONS} msg/s`;
    return [
      row(`messages/s, ${PER_SESSION} per session, first request → last at a phone (median of ${ROUNDS})`, median('platform', (b) => b.perS), median('baseline', (b) => b.perS), 'msg/s', 'higher'),
      row('CPU per message in the burst (whole process: sender side + simulator)', median('platform', (b) => b.cpuMsPerMessage), median('baseline', (b) => b.cpuMsPerMessage), 'ms', 'lower'),
      row(`latency p50 at ${load}, asked (POST sent / sendMessage called) → at the phone`, pct('platform', 'asked', 0.5), pct('baseline', 'asked', 0.5), 'ms', 'lower'),
      row(`latency p99 at ${load}, asked → at the phone`, pct('platform', 'asked', 0.99), pct('baseline', 'asked', 0.99), 'ms', 'lower'),
      row(`latency p50 at ${load}, platform from its 202 (accepted) → at the phone`, pct('platform', 'accepted', 0.5), pct('baseline', 'accepted', 0.5), 'ms', 'lower'),
      row(`latency p99 at ${load}, platform from its 202 → at the phone`, pct('platform', 'accepted', 0.99), pct('baseline', 'accepted', 0.99), 'ms', 'lower'),
    ];
  } finally {
    await db.end().catch(() => {});
    await fleet.close();
  }
}

type FromChild = { type: 'rows'; rows: Row[] } | { type: 'failed'; message: string };

export default function messaging(): Promise<Row[]> {
  const child = fork(import.meta.filename, [], { stdio: ['ignore', 2, 2, 'ipc'] });
  return new Promise((resolve, reject) => {
    // A last resort: the child's own waits time out well before this, and it cleans up when they do.
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
    child.on('message', (message: FromChild) => (message.type === 'rows' ? resolve(message.rows) : reject(new Error(message.message))));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`messaging child exited with ${code ?? signal} before handing over rows`));
      // After its rows: a cleanup step failed in the child (it said which); the run must fail all the same.
      if (code !== 0) process.exitCode = 1;
    });
  });
}

if (import.meta.main) {
  let result: FromChild;
  try {
    result = { type: 'rows', rows: await measure() };
  } catch (err) {
    result = { type: 'failed', message: String((err as Error)?.stack ?? err) };
  }
  await new Promise((resolve) => process.send!(result, resolve));
  // Everything is closed; only Baileys' leftover timers remain, and they would keep the process ~30 s for nothing.
  process.exit(process.exitCode ?? 0);
}
