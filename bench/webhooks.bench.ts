// Webhook deliveries from event append to a local receiver that answers 200 at once: the real platform in-process
// (API and worker: appendToStream commits and NOTIFYs, the dispatcher projection reads the log and enqueues one
// BullMQ job per (event, endpoint), a delivery job reads the event and its delivery stream, signs, POSTs and appends
// `webhook.attempted`). The baseline is a bare node:http POST loop (keep-alive agent) to the same receiver, with the
// same body and headers and as many requests in flight as the platform's webhook worker runs jobs, so the ratio is
// what the pipeline costs over the HTTP exchange itself. Both sides are timed the same way: from the moment a
// delivery became due (the append committed; the POST was started) to the request's arrival at the receiver.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import { streamOf, type DomainEvent } from '../src/domain/events.ts';
import { eventIdOf } from '../src/events/event-ids.ts';
import { appendToStream, type EventMetadata } from '../src/events/event-store.ts';
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../tests/helpers/platform.ts';
import { until } from '../tests/helpers/wait.ts';
import { cleanupAll, cpuSteal, percentile, warnOnSteal } from './stats.ts';
import type { Row } from './types.ts';

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 2000);
// The webhook worker's job concurrency, and the baseline's requests in flight. The per-endpoint cap is raised to
// the same figure: with its default (5) one endpoint could never have more than 5 requests in flight and the
// benchmark would measure that cap, not the pipeline.
const CONCURRENCY = 50;
// Inbound messages of several chats arriving at once: the session host appends each as it comes, concurrently.
const APPENDERS = 8;
// Latency is also read at a steady rate well below saturation (no backlog), as the SSE benchmark does: during the
// burst it is mostly time spent queued behind earlier events, on both sides. One event at a time costs far more
// CPU than one in a burst (every projection runs a batch for it alone), so 50/s already saturated a shared core.
const PACED_EVENTS = 100;
const PACED_PER_S = 20;
const WARMUP_EVENTS = 100;
const COLLECT_TIMEOUT_MS = 60_000;

interface Receiver {
  url: string;
  // performance.now() at each request's arrival (headers read), by `webhook-id`; the first arrival counts.
  arrivals: Map<string, number>;
  sample?: { headers: http.IncomingHttpHeaders; body: string };
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const arrivals = new Map<string, number>();
  const receiver: Receiver = { url: '', arrivals, close: async () => {} };
  const server = http.createServer((req, res) => {
    const at = performance.now();
    const id = String(req.headers['webhook-id']);
    if (!arrivals.has(id)) arrivals.set(id, at);
    // One whole request is kept so the baseline can send the very same bytes.
    const chunks: Buffer[] | undefined = receiver.sample ? undefined : [];
    req.on('data', (chunk: Buffer) => chunks?.push(chunk));
    req.on('end', () => {
      if (chunks && !receiver.sample) receiver.sample = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      res.writeHead(200).end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiver.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  receiver.close = async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  };
  return receiver;
}

interface Tally {
  // When each delivery became due (performance.now()), by webhook-id.
  due: Map<string, number>;
  start: number;
  // This process's CPU time when the run started: the platform, the receiver and the baseline's client all run in
  // it (PostgreSQL and Redis do not), so its growth per delivery is what one delivery costs in Node.js.
  cpu: NodeJS.CpuUsage;
}

// Deliveries per second from the first due delivery to the last arrival, and each delivery's latency.
async function collect(receiver: Receiver, tally: Tally, label: string) {
  const ids = [...tally.due.keys()];
  await until(() => (ids.every((id) => receiver.arrivals.has(id)) ? true : undefined), `${label}: ${ids.length} deliveries`, COLLECT_TIMEOUT_MS).catch((err: Error) => {
    const missing = ids.filter((id) => !receiver.arrivals.has(id)).length;
    throw new Error(`${err.message} (${missing} of ${ids.length} missing)`);
  });
  const cpu = process.cpuUsage(tally.cpu);
  const latencies = ids.map((id) => receiver.arrivals.get(id)! - tally.due.get(id)!);
  const last = Math.max(...ids.map((id) => receiver.arrivals.get(id)!));
  return { perSecond: ids.length / ((last - tally.start) / 1000), latencies, cpuMs: (cpu.user + cpu.system) / 1000 / ids.length };
}

// Sends one delivery; resolves when it is due (appended, or the POST written), having recorded that moment.
type Send = (tally: Tally) => Promise<unknown>;

async function burst(send: Send, count: number, workers: number): Promise<Tally> {
  const tally: Tally = { due: new Map(), start: performance.now(), cpu: process.cpuUsage() };
  let left = count;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (left-- > 0) await send(tally);
    }),
  );
  return tally;
}

async function paced(send: Send, count: number, perSecond: number): Promise<Tally> {
  const tally: Tally = { due: new Map(), start: performance.now(), cpu: process.cpuUsage() };
  const sent: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = tally.start + (i * 1000) / perSecond - performance.now();
    if (wait > 0) await sleep(wait);
    sent.push(send(tally));
  }
  await Promise.all(sent);
  return tally;
}

// An inbound message as the session host records it: its own stream, an event id derived from the message id,
// the device's tenant and session in the metadata (appendToStream one event at a time, not appendToManyStreams:
// inbound messages arrive one by one, and that is how they enter the log).
function platformSend(platform: TestPlatform, metadata: EventMetadata): Send {
  let n = 0;
  return async (tally) => {
    const messageId = `in_bench${String(n++).padStart(8, '0')}_${randomUUID().slice(0, 8)}`;
    const eventId = eventIdOf(messageId);
    const event: DomainEvent = {
      type: 'message.received',
      data: { messageId, waMessageId: '3EB0BENCH', chatJid: '6281200000001@s.whatsapp.net', from: '6281200000001@s.whatsapp.net', pushName: 'Ana', messageType: 'conversation', text: 'Hello from the benchmark', timestamp: 1_795_000_000 },
    };
    await appendToStream(platform.app.orm.em.fork() as EntityManager, streamOf.message(messageId), [{ event, eventId }], { expectedVersion: 'any', metadata });
    tally.due.set(eventId, performance.now());
  };
}

function baselineSend(receiver: Receiver, agent: http.Agent): Send {
  const { headers: sampled, body } = receiver.sample!;
  const { host: _host, connection: _connection, ...headers } = sampled;
  return (tally) =>
    new Promise<void>((resolve, reject) => {
      const id = randomUUID();
      tally.due.set(id, performance.now());
      const req = http.request(receiver.url, { method: 'POST', agent, headers: { ...headers, 'webhook-id': id } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`baseline POST answered ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
}

export default async function webhooks(): Promise<Row[]> {
  const closers: (() => Promise<unknown> | unknown)[] = [];
  try {
    const receiver = await startReceiver();
    closers.push(() => receiver.close());
    // bench/platform.ts starts the API role alone; deliveries need the worker too (dispatcher, delivery jobs), so
    // this is the test helpers' whole platform (ROLE=all) on its own database and Redis prefix.
    const platform = await startTestPlatform({
      LOG_LEVEL: 'warn',
      ALLOW_PRIVATE_WEBHOOKS: 'true',
      WEBHOOK_CONCURRENCY: String(CONCURRENCY),
      WEBHOOK_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
    });
    closers.unshift(() => platform.close());
    const api = async (method: 'POST', url: string, payload: object, expected: number) => {
      const res = await platform.request({ method, url, headers: { 'x-admin-token': ADMIN_TOKEN }, payload });
      if (res.statusCode !== expected) throw new Error(`${url} answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
      return res.json();
    };
    const { device } = (await api('POST', '/api/whatsapp/devices', { alias: 'webhook-bench', metadata: { crm: 'acct-42' } }, 201)) as { device: { id: number; userId: number; sessionId: string } };
    // No WhatsApp here: with its session stopped, the device's lifecycle events stay out of the measurement.
    await api('POST', `/api/whatsapp/devices/${device.id}/logout`, {}, 200);
    await api('POST', '/api/whatsapp/webhooks', { url: receiver.url, events: ['message.received'] }, 201);

    const onPlatform = platformSend(platform, { tenantId: device.userId, deviceId: device.id, sessionId: device.sessionId });
    // Warms the pool's connections, the queries' plans, the worker and the keep-alive sockets, and yields the
    // sample request the baseline sends.
    await collect(receiver, await burst(onPlatform, WARMUP_EVENTS, APPENDERS), 'warm-up');
    const agent = new http.Agent({ keepAlive: true });
    closers.push(() => agent.destroy());
    const onBaseline = baselineSend(receiver, agent);
    await collect(receiver, await burst(onBaseline, WARMUP_EVENTS, CONCURRENCY), 'baseline warm-up');

    const steal = cpuSteal();
    const baselineBurst = await collect(receiver, await burst(onBaseline, EVENTS, CONCURRENCY), 'baseline burst');
    const platformBurst = await collect(receiver, await burst(onPlatform, EVENTS, APPENDERS), 'platform burst');
    const baselinePaced = await collect(receiver, await paced(onBaseline, PACED_EVENTS, PACED_PER_S), 'baseline paced');
    const platformPaced = await collect(receiver, await paced(onPlatform, PACED_EVENTS, PACED_PER_S), 'platform paced');
    warnOnSteal('webhooks', steal());

    const name = `webhooks: ${EVENTS} appends → receiver vs bare POST loop (${CONCURRENCY} in flight)`;
    const row = (metric: string, unit: string, better: Row['better'], p: number, b: number): Row => ({ name, metric, platform: p, baseline: b, unit, ratio: p / b, better });
    const at = (samples: number[], p: number) => percentile(samples, p);
    return [
      row('deliveries/s (burst: first append → last arrival)', 'deliveries/s', 'higher', platformBurst.perSecond, baselineBurst.perSecond),
      row('p50 latency in the burst (append committed → arrival)', 'ms', 'lower', at(platformBurst.latencies, 0.5), at(baselineBurst.latencies, 0.5)),
      row('p99 latency in the burst', 'ms', 'lower', at(platformBurst.latencies, 0.99), at(baselineBurst.latencies, 0.99)),
      row('Node.js CPU per delivery in the burst (this process)', 'ms', 'lower', platformBurst.cpuMs, baselineBurst.cpuMs),
      row(`p50 latency at ${PACED_PER_S}/s (no backlog)`, 'ms', 'lower', at(platformPaced.latencies, 0.5), at(baselinePaced.latencies, 0.5)),
      row(`p99 latency at ${PACED_PER_S}/s`, 'ms', 'lower', at(platformPaced.latencies, 0.99), at(baselinePaced.latencies, 0.99)),
    ];
  } finally {
    await cleanupAll('webhooks', closers);
  }
}
