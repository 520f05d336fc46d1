// What bench/messaging.bench.ts, bench/modes.bench.ts and bench/embedded-capacity.bench.ts measure on a messaging
// fleet (messaging-fleet.ts): a burst of texts per session, and texts at a steady pace, timed at the simulated
// phones as they receive them. Platform side: one HTTP client per session posting to POST /api/whatsapp/send one
// text after another (each answers 202 once message.queued is in the log). Baseline: `await sock.sendMessage` on
// bare Baileys sockets, sequential per session as the platform's queue (concurrency 1) is.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { until } from '../tests/helpers/wait.ts';
import { BENCH_PROBE } from './round-trips.ts';
import type { WhatsAppSimulator } from '../simulator/server.ts';
import type { MessagingFleet } from './messaging-fleet.ts';

export type Side = 'platform' | 'baseline';

const POLL_MS = 5;
const TIMEOUT_MS = 120_000;

interface Sender {
  contact: string;
  // Resolves when the side has taken the text: with the time of the 202 (platform), or undefined (baseline).
  send(text: string): Promise<number | undefined>;
}

export interface Burst {
  perS: number;
  cpuMsPerMessage: number;
  // Seconds until every text was accepted (platform: the last 202; baseline: the last sendMessage resolved).
  takenS: number;
}

export interface Latencies {
  asked: number[];
  accepted: number[];
}

export interface Pace {
  perSession: number;
  intervalMs: number;
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

// Messages/s from the first request to the last text at a phone, and this process's CPU per message (sender side
// and simulator; not PostgreSQL's or Redis').
export async function burst(fleet: MessagingFleet, side: Side, label: string, perSession: number): Promise<Burst> {
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

// Each session one text per interval, sessions staggered evenly over the interval: latency without queueing (as
// long as the side keeps up). From asking (POST sent / sendMessage called) and from the platform's 202 to the text
// at the phone; the simulator stamps arrivals with Date.now(): whole milliseconds.
export async function paced(fleet: MessagingFleet, side: Side, label: string, { perSession, intervalMs }: Pace): Promise<Latencies> {
  const senders = sendersOf(fleet, side);
  const asks: { text: string; askedAt: number; acceptedAt: number | undefined }[] = [];
  const texts = new Set(senders.flatMap((_, i) => Array.from({ length: perSession }, (_, k) => `${label} s${i} m${k}`)));
  const arrived = arrivals(fleet.sim, senders.map((s) => s.contact), texts);
  arrived.catch(() => {});
  await Promise.all(senders.map(async (sender, i) => {
    await sleep((i * intervalMs) / senders.length);
    for (let k = 0; k < perSession; k++) {
      const text = `${label} s${i} m${k}`;
      const askedAt = Date.now();
      asks.push({ text, askedAt, acceptedAt: await sender.send(text) });
      await sleep(Math.max(0, askedAt + intervalMs - Date.now()));
    }
  }));
  const at = await arrived;
  return {
    asked: asks.map((a) => at.get(a.text)! - a.askedAt),
    accepted: asks.map((a) => at.get(a.text)! - (a.acceptedAt ?? a.askedAt)),
  };
}

// The platform keeps working after its texts arrive (receipts recorded as message.delivered, projections): the
// next measurement starts once that is done, so it does not pay for the last one's leftovers.
export async function settle(fleet: MessagingFleet, deliveredExpected: number): Promise<void> {
  // A client per call: a restart of the embedded PostgreSQL may move it to another port.
  const db = new pg.Client({ connectionString: fleet.platform.databaseUrl, application_name: BENCH_PROBE });
  await db.connect();
  // What the last poll read, for the timeout's message.
  let seen = '';
  try {
    await until(async () => {
      const { rows } = await db.query(
        `select (select count(*) from events where type = 'message.delivered')::int as delivered,
                (select min(global_position) from projection_checkpoints) as slowest, (select max(global_position) from events) as last`,
      );
      const { delivered, slowest, last } = rows[0]!;
      seen = `${delivered} recorded, slowest projection at ${slowest} of ${last}`;
      return delivered >= deliveredExpected && Number(slowest) >= Number(last) ? true : undefined;
    }, `${deliveredExpected} deliveries recorded and projections caught up`, TIMEOUT_MS).catch((err: Error) => {
      throw new Error(`${err.message} (${seen})`);
    });
  } finally {
    await db.end();
  }
  await sleep(200);
}

export function checkWholeNumbers(settings: Record<string, number>): void {
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name}="${process.env[name]}" must be a whole number ≥ 1`);
  }
}
