// Open-loop send load for bench/fleet-load.bench.ts: texts requested through POST /api/whatsapp/send on a fixed
// schedule, whatever the platform answers, so a platform that falls behind shows a growing lag and a backlog
// instead of a slower client (a closed loop, as messaging-runs.ts drives, would hide both). The requests are made
// from a worker thread: the simulator in the main thread gets busy exactly when the load is high, and would
// otherwise make the requests late. Arrivals are read at the simulated phones; the simulator stamps them with
// Date.now(), as every time here is taken (one clock for every thread).
import { Agent, request } from 'node:http';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { WhatsAppSimulator } from '../simulator/server.ts';
import { percentile } from './stats.ts';

export interface Target {
  sessionId: string;
  contact: string;
}

export interface Sent {
  text: string;
  target: number;
  scheduledAt: number;
  askedAt: number;
  // Set when the 202 came (acceptedAt) or the request failed (failed).
  acceptedAt?: number;
  failed?: string;
}

export interface Schedule {
  label: string;
  // Requests in all, spread evenly at ratePerS and dealt round-robin over the targets: with ratePerS equal to the
  // number of targets, each one sends once a second, the targets staggered evenly over the second.
  count: number;
  ratePerS: number;
}

export interface Api {
  base: string;
  headers: Record<string, string>;
}

export interface Offer {
  startedAt: number;
  // When the last request was due: the end of the offered load.
  endsAt: number;
  // Filled in once every request has been answered (or failed).
  sent: Sent[];
  answered: Promise<void>;
}

// Connections kept open to the API, as a client's pool or a reverse proxy keeps them. Requests due while all are
// busy wait in the pool: that wait is in the lag from their due time, and in none of the platform's figures.
const CONNECTIONS = 100;
// A request with no answer by then counts as failed, so a stuck API cannot hold the run up for ever.
const ANSWER_TIMEOUT_MS = 120_000;

type FromThread = { type: 'issued' } | { type: 'answered'; sent: Sent[] } | { type: 'failed'; message: string };
interface ThreadData {
  targets: Target[];
  api: Api;
  schedule: Schedule;
  startedAt: number;
}

// Resolves once the last request has been made; answers keep coming after that.
export async function offer(targets: Target[], api: Api, schedule: Schedule): Promise<Offer> {
  // A moment ahead, so the first requests are not already late while the thread starts.
  const startedAt = Date.now() + 500;
  const thread = new Worker(new URL(import.meta.url), { workerData: { targets, api, schedule, startedAt } satisfies ThreadData });
  const result: Offer = { startedAt, endsAt: startedAt + (schedule.count * 1000) / schedule.ratePerS, sent: [], answered: Promise.resolve() };
  let issued!: () => void;
  const issuedAll = new Promise<void>((resolve) => (issued = resolve));
  result.answered = new Promise((resolve, reject) => {
    thread.on('message', (message: FromThread) => {
      if (message.type === 'issued') issued();
      else if (message.type === 'answered') {
        result.sent = message.sent;
        issued();
        resolve();
      } else reject(new Error(message.message));
    });
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`the load thread exited (${code}) before every answer`)));
  });
  // A failure shows when the answers are awaited; until then it must not surface as unhandled.
  result.answered.catch(() => issued());
  await issuedAll;
  return result;
}

function post(agent: Agent, api: Api, body: string): Promise<{ status: number; text: string }> {
  const url = new URL('/api/whatsapp/send', api.base);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { ...api.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: ANSWER_TIMEOUT_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function runInThread({ targets, api, schedule: { label, count, ratePerS }, startedAt }: ThreadData): Promise<Sent[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const sent: Sent[] = [];
  const answers: Promise<void>[] = [];
  for (let j = 0; j < count; j++) {
    const scheduledAt = startedAt + (j * 1000) / ratePerS;
    const wait = scheduledAt - Date.now();
    if (wait >= 1) await sleep(wait);
    // Behind schedule: catch up at once, but let answers in now and then.
    else if (j % 50 === 0) await yieldToLoop();
    const target = j % targets.length;
    const { sessionId, contact } = targets[target]!;
    const entry: Sent = { text: `${label} s${target} m${Math.floor(j / targets.length)}`, target, scheduledAt, askedAt: Date.now() };
    sent.push(entry);
    answers.push(
      post(agent, api, JSON.stringify({ sessionId, phoneNumber: contact, message: entry.text })).then(
        ({ status, text }) => {
          if (status === 202) entry.acceptedAt = Date.now();
          else entry.failed = `${status} ${text.slice(0, 200)}`;
        },
        (err: Error) => void (entry.failed = err.message),
      ),
    );
  }
  parentPort!.postMessage({ type: 'issued' } satisfies FromThread);
  await Promise.all(answers);
  agent.destroy();
  return sent;
}

if (!isMainThread && parentPort) {
  runInThread(workerData as ThreadData).then(
    (sent) => parentPort!.postMessage({ type: 'answered', sent } satisfies FromThread),
    (err: Error) => parentPort!.postMessage({ type: 'failed', message: String(err.stack ?? err) } satisfies FromThread),
  );
}

// The commonest reasons requests failed, for the log.
export function failureReasons(offer: Offer, top = 3): string {
  const counts = new Map<string, number>();
  for (const { failed } of offer.sent) if (failed) counts.set(failed.slice(0, 120), (counts.get(failed.slice(0, 120)) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, top).map(([reason, n]) => `${n}× ${reason}`).join('; ');
}

// Every text that reached any of the contacts' phones, with when, read every POLL_MS while running. Inboxes only
// grow, so each is read from where the last poll stopped.
export class Arrivals {
  readonly at = new Map<string, number>();
  // The WhatsApp id each text first arrived under.
  readonly #ids = new Map<string, string>();
  #cursors: number[];
  #timer: NodeJS.Timeout;
  #duplicates = 0;
  #resent = 0;
  #sim: WhatsAppSimulator;
  #contacts: string[];

  constructor(sim: WhatsAppSimulator, contacts: string[], pollMs = 20) {
    this.#sim = sim;
    this.#contacts = contacts;
    this.#cursors = contacts.map(() => 0);
    this.#timer = setInterval(() => this.poll(), pollMs);
  }

  poll(): void {
    this.#contacts.forEach((contact, i) => {
      const inbox = this.#sim.inbox(contact);
      for (; this.#cursors[i]! < inbox.length; this.#cursors[i]!++) {
        const { text, receivedAt, id } = inbox[this.#cursors[i]!]!;
        if (!this.at.has(text)) {
          this.at.set(text, receivedAt);
          this.#ids.set(text, id);
        } else if (this.#ids.get(text) === id) this.#resent++;
        else this.#duplicates++;
      }
    });
  }

  // Texts that reached a phone again under another WhatsApp id: two messages to its user, a fault to report.
  get duplicates(): number {
    return this.#duplicates;
  }

  // Texts that reached a phone again under the same id: a send repeated after a timeout (every attempt reuses the
  // id), which the simulator's handset records again and a phone shows once.
  get resent(): number {
    return this.#resent;
  }

  // Until every accepted text has arrived, or `limitMs` has passed; the time of the last arrival, if all came.
  async drain(offer: Offer, limitMs: number): Promise<number | undefined> {
    await offer.answered;
    const deadline = Date.now() + limitMs;
    const waiting = () => offer.sent.filter((s) => s.acceptedAt !== undefined && !this.at.has(s.text));
    while (waiting().length && Date.now() < deadline) await sleep(250);
    this.poll();
    if (waiting().length) return undefined;
    return Math.max(...offer.sent.flatMap((s) => (s.acceptedAt === undefined ? [] : [this.at.get(s.text)!])));
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

export interface Window {
  fromS: number;
  offered: number;
  accepted: number;
  failed: number;
  // Of the texts due in this window, those that reached a phone (whenever they did).
  arrived: number;
  // Texts that reached a phone during this window, whichever window they were due in, per second.
  arrivedPerS: number;
  // From the 202 to the phone, and from asking, for the texts due in this window that were accepted (Infinity
  // for those that never arrived).
  lagMs: { p50: number; p99: number };
  askedLagMs: { p50: number; p99: number };
  // How late this process made the window's requests (it also runs the simulator).
  askSlipP99Ms: number;
}

export function windows(offer: Offer, arrivals: Arrivals, windowMs: number): Window[] {
  const result: Window[] = [];
  const arrivalTimes = [...arrivals.at.values()];
  for (let from = offer.startedAt; from < offer.endsAt - 1; from += windowMs) {
    const to = Math.min(from + windowMs, offer.endsAt);
    const due = offer.sent.filter((s) => s.scheduledAt >= from && s.scheduledAt < to);
    const accepted = due.filter((s) => s.acceptedAt !== undefined);
    const arrived = accepted.filter((s) => arrivals.at.has(s.text));
    // A text that never arrived counts as infinitely late: percentiles over the arrived alone would flatter a
    // platform that leaves its latest texts behind.
    const at = (s: Sent) => arrivals.at.get(s.text) ?? Number.POSITIVE_INFINITY;
    const lags = accepted.map((s) => at(s) - s.acceptedAt!);
    const askedLags = accepted.map((s) => at(s) - s.askedAt);
    result.push({
      fromS: (from - offer.startedAt) / 1000,
      offered: due.length,
      accepted: accepted.length,
      failed: due.filter((s) => s.failed !== undefined).length,
      arrived: arrived.length,
      arrivedPerS: (arrivalTimes.filter((t) => t >= from && t < to).length * 1000) / (to - from),
      lagMs: { p50: percentile(lags, 0.5), p99: percentile(lags, 0.99) },
      askedLagMs: { p50: percentile(askedLags, 0.5), p99: percentile(askedLags, 0.99) },
      askSlipP99Ms: percentile(due.map((s) => s.askedAt - s.scheduledAt), 0.99),
    });
  }
  return result;
}

// Least-squares slope of the 202 → phone lag over the time each text was due, in ms of lag per second of load
// (over the texts that arrived: it understates the growth when the latest never did):
// about 0 when the platform keeps up, about (offered − achieved) / achieved × 1000 when it falls steadily behind.
export function lagSlope(offer: Offer, arrivals: Arrivals): number {
  const points = offer.sent.flatMap((s) => (s.acceptedAt !== undefined && arrivals.at.has(s.text) ? [[(s.scheduledAt - offer.startedAt) / 1000, arrivals.at.get(s.text)! - s.acceptedAt]] : []));
  const n = points.length;
  if (n < 2) return Number.NaN;
  const [mx, my] = [points.reduce((a, [x]) => a + x!, 0) / n, points.reduce((a, [, y]) => a + y!, 0) / n];
  const sxy = points.reduce((a, [x, y]) => a + (x! - mx) * (y! - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x! - mx) ** 2, 0);
  return sxy / sxx;
}

// At the end of the offered load: requests not yet answered, and texts accepted that had not reached a phone.
export function backlogAt(offer: Offer, arrivals: Arrivals, at: number): { unanswered: number; queued: number } {
  let unanswered = 0;
  let queued = 0;
  for (const s of offer.sent) {
    if (s.failed !== undefined && s.acceptedAt === undefined) continue;
    if (s.acceptedAt === undefined || s.acceptedAt > at) unanswered++;
    else if ((arrivals.at.get(s.text) ?? Number.POSITIVE_INFINITY) > at) queued++;
  }
  return { unanswered, queued };
}
