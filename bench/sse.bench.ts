// SSE fan-out to 1,000 clients of one tenant: events appended through the event store reach the clients via
// NOTIFY, the live feed's one reader and the SSE route. The baseline is a bare node:http server writing the same
// frames to as many connections from an in-memory loop, so the ratio is the platform's cost over the raw sockets.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { appendToStream } from '../src/events/event-store.ts';
import { startBenchPlatform } from './platform.ts';
import { openClients, type SseClients } from './sse-clients.ts';
import { cleanupAll, cpuSteal, percentile, wallMs, warnOnSteal } from './stats.ts';
import type { Row } from './types.ts';

const CLIENTS = 1000;
// Latency is read at a steady rate well below saturation (no backlog), throughput from bursts appended back to
// back. Both sides stay connected and take turns, round by round, so a noisy spell on a shared host (steal time)
// lands on both rather than on whichever side ran during it.
const ROUNDS = 4;
const PACED_EVENTS = 25;
const PACED_PER_S = 20;
const BURST_EVENTS = 50;
const WARMUP_EVENTS = 20;
const COLLECT_TIMEOUT_MS = 20_000;

// Sends one event to every client; `sentAt` (wall clock) travels in the payload.
type Emit = (messageId: string, sentAt: number) => Promise<unknown>;
type Closers = (() => Promise<unknown>)[];

interface Side {
  clients: SseClients;
  emit: Emit;
  latencies: Float64Array[];
  delivered: number;
  burstSeconds: number;
  missing: number;
  disconnected: number;
}

async function paced(side: Side, phase: string, events: number) {
  const start = wallMs();
  for (let i = 0; i < events; i++) {
    await sleep(Math.max(0, start + (i * 1000) / PACED_PER_S - wallMs()));
    await side.emit(`${phase}:${i}`, wallMs());
  }
  const result = await side.clients.collect(phase, events * CLIENTS, COLLECT_TIMEOUT_MS);
  side.missing += events * CLIENTS - result.received;
  return result;
}

async function round(side: Side, n: number): Promise<void> {
  side.latencies.push((await paced(side, `paced${n}`, PACED_EVENTS)).latenciesMs);
  const start = wallMs();
  for (let i = 0; i < BURST_EVENTS; i++) await side.emit(`burst${n}:${i}`, wallMs());
  const burst = await side.clients.collect(`burst${n}`, BURST_EVENTS * CLIENTS, COLLECT_TIMEOUT_MS);
  side.missing += BURST_EVENTS * CLIENTS - burst.received;
  side.delivered += burst.received;
  side.burstSeconds += (burst.lastAtMs - start) / 1000;
  side.disconnected = burst.disconnected;
}

function side(clients: SseClients, emit: Emit): Side {
  return { clients, emit, latencies: [], delivered: 0, burstSeconds: 0, missing: 0, disconnected: 0 };
}

// The frame the SSE route writes (presentEvent's shape), so both sides send and parse the same bytes.
const baselineStream = `bench-sse-${randomUUID()}`;

function frame(position: number, messageId: string, sentAt: number): string {
  const view = {
    id: position,
    eventId: randomUUID(),
    type: 'message.queued',
    streamId: baselineStream,
    deviceId: null,
    sessionId: null,
    data: { messageId, to: String(sentAt) },
    recordedAt: new Date().toISOString(),
  };
  return `id: ${position}\nevent: message.queued\ndata: ${JSON.stringify(view)}\n\n`;
}

async function startBaseline(closers: Closers): Promise<Side> {
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    open.add(res);
    res.on('close', () => open.delete(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  );
  const { port } = server.address() as { port: number };
  const clients = await openClients({ url: `http://127.0.0.1:${port}/`, headers: {}, clients: CLIENTS });
  closers.push(() => clients.close());
  let position = 0;
  return side(clients, async (messageId, sentAt) => {
    const chunk = frame(++position, messageId, sentAt);
    for (const res of open) res.write(chunk);
    // An append is asynchronous too: let the loop flush the sockets between events, as it does for the platform.
    await yieldToLoop();
  });
}

async function startPlatformSide(closers: Closers): Promise<Side> {
  const { app, address, token, close } = await startBenchPlatform();
  closers.push(close);
  const headers = { 'x-api-token': token };
  // API_TOKEN belongs to the bootstrap admin: its user id (numeric; `userId` is its identifier, the username) is the
  // tenant the stream filters on.
  const verify = await fetch(`${address}/api/auth/verify`, { headers });
  if (verify.status !== 200) throw new Error(`GET /api/auth/verify answered ${verify.status}: ${await verify.text()}`);
  const tenantId = ((await verify.json()) as { data: { id: number } }).data.id;

  const clients = await openClients({ url: `${address}/api/whatsapp/events/stream`, headers, clients: CLIENTS });
  closers.push(() => clients.close());
  // One aggregate's stream, appended in order with its expected version, as the platform's own writers do.
  const streamId = `bench-sse-${randomUUID()}`;
  let version = 0;
  return side(clients, async (messageId, sentAt) => {
    const expectedVersion = version === 0 ? 'no-stream' : version;
    const event = { type: 'message.queued', data: { messageId, to: String(sentAt), content: { type: 'text', text: 'bench' } } } as const;
    ({ nextVersion: version } = await appendToStream(app.orm.em.fork(), streamId, [{ event }], { expectedVersion, metadata: { tenantId } }));
  });
}

// Both ends of every connection, for both sides at once, live in this process.
function checkFileDescriptors(): void {
  const limit = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  const needed = 4 * CLIENTS + 200;
  if (limit !== 'unlimited' && Number(limit) < needed) {
    throw new Error(`ulimit -n is ${limit}; this benchmark holds about ${needed} sockets (raise it with "ulimit -n ${needed}")`);
  }
}

export default async function sse(): Promise<Row[]> {
  checkFileDescriptors();
  const closers: Closers = [];
  try {
    const platform = await startPlatformSide(closers);
    const baseline = await startBaseline(closers);
    // Untimed: the first events pay for compiling the code paths on both ends.
    for (const s of [baseline, platform]) await paced(s, 'warmup', WARMUP_EVENTS);
    for (const s of [baseline, platform]) s.missing = 0;
    const steal = cpuSteal();
    for (let n = 0; n < ROUNDS; n++) for (const s of [baseline, platform]) await round(s, n);
    warnOnSteal('sse', steal());

    if (platform.missing || baseline.missing) {
      const [p, b] = [platform, baseline].map(({ missing, disconnected }) => ({ missing, disconnected }));
      console.error('sse: some events never reached some clients, so the figures compare unlike work:', { platform: p, baseline: b });
      process.exitCode = 1;
    }
    const name = `sse ${CLIENTS} clients: append → live feed → SSE vs bare node:http`;
    const row = (metric: string, unit: string, better: Row['better'], pick: (s: Side) => number, compare = true): Row => {
      const [p, b] = [pick(platform), pick(baseline)];
      return { name, metric, platform: p, baseline: b, unit, ratio: compare && b ? p / b : null, better };
    };
    return [
      row(`delivered, bursts of ${BURST_EVENTS}`, 'events/s', 'higher', (s) => s.delivered / s.burstSeconds),
      row(`p99 append→client at ${PACED_PER_S} events/s`, 'ms', 'lower', (s) => percentile(Float64Array.from(s.latencies.flatMap((l) => [...l])), 0.99)),
      row('deliveries missing', 'count', 'lower', (s) => s.missing, false),
    ];
  } finally {
    await cleanupAll('sse', closers.reverse());
  }
}
