// Webhook deliveries from event append to a local receiver that answers 200 at once, on the real platform
// in-process (role all: appendToStream commits and NOTIFYs, the dispatcher projection reads the log and enqueues one
// job per (event, endpoint), a delivery job signs, POSTs and appends `webhook.attempted`). What bench/webhooks.bench.ts
// compares with a bare POST loop and bench/modes.bench.ts compares between the platform's modes. Deliveries are
// timed from the moment they became due (the append committed; a bare POST started) to the request's arrival.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import { streamOf, type DomainEvent } from '../src/domain/events.ts';
import { eventIdOf } from '../src/events/event-ids.ts';
import { appendToStream, type EventMetadata } from '../src/events/event-store.ts';
import type { TestBackends } from '../tests/helpers/resources.ts';
import { until } from '../tests/helpers/wait.ts';
import { startBenchPlatform, type BenchPlatform } from './platform.ts';
import { cleanupAll } from './stats.ts';

// The webhook worker's job concurrency (and the bare loop's requests in flight). The per-endpoint cap is raised to
// the same figure: with its default (5) one endpoint could never have more than 5 requests in flight and the
// benchmark would measure that cap, not the pipeline.
export const CONCURRENCY = 50;
// Inbound messages of several chats arriving at once: the session host appends each as it comes, concurrently.
export const APPENDERS = 8;
// Latency is also read at a steady rate well below saturation (no backlog), as the SSE benchmark does: during a
// burst it is mostly time spent queued behind earlier events. One event at a time costs far more CPU than one in a
// burst (every projection runs a batch for it alone), so 50/s already saturated a shared core.
export const PACED_EVENTS = 100;
export const PACED_PER_S = 20;
const WARMUP_EVENTS = 100;
const COLLECT_TIMEOUT_MS = 60_000;

export interface Receiver {
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
    // One whole request is kept so a bare loop can send the very same bytes.
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

export interface Tally {
  // When each delivery became due (performance.now()), by webhook-id.
  due: Map<string, number>;
  start: number;
  // This process's CPU time when the run started: the platform, the receiver and a bare loop's client all run in
  // it (PostgreSQL and Redis do not), so its growth per delivery is what one delivery costs in Node.js.
  cpu: NodeJS.CpuUsage;
}

export interface Collected {
  perSecond: number;
  latencies: number[];
  cpuMs: number;
}

// Deliveries per second from the first due delivery to the last arrival, each delivery's latency, and CPU.
export async function collect(receiver: Receiver, tally: Tally, label: string): Promise<Collected> {
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
export type Send = (tally: Tally) => Promise<unknown>;

export async function burst(send: Send, count: number, workers: number): Promise<Tally> {
  const tally: Tally = { due: new Map(), start: performance.now(), cpu: process.cpuUsage() };
  let left = count;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (left-- > 0) await send(tally);
    }),
  );
  return tally;
}

export async function paced(send: Send, count: number, perSecond: number): Promise<Tally> {
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
function platformSend(platform: BenchPlatform, metadata: EventMetadata): Send {
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

export interface WebhookPipeline {
  receiver: Receiver;
  // Appends one inbound message, which the platform delivers to the receiver.
  send: Send;
  close(): Promise<void>;
}

// The platform on `backends` with one device and one endpoint subscribed to message.received at the receiver,
// warmed up (the pool's connections, the queries' plans, the worker and the keep-alive sockets) by a first burst,
// which also leaves the receiver a sample request.
export async function startWebhookPipeline(backends: TestBackends): Promise<WebhookPipeline> {
  const closers: (() => Promise<unknown> | unknown)[] = [];
  const close = () => cleanupAll('webhooks', closers);
  try {
    const receiver = await startReceiver();
    closers.push(() => receiver.close());
    const platform = await startBenchPlatform(
      {
        ROLE: 'all',
        // No WhatsApp here: nothing listens there, and the device's session is stopped below.
        WA_WEBSOCKET_URL: 'ws://127.0.0.1:9/ws/chat',
        ALLOW_PRIVATE_WEBHOOKS: 'true',
        WEBHOOK_CONCURRENCY: String(CONCURRENCY),
        WEBHOOK_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
      },
      backends,
    );
    closers.unshift(() => platform.close());
    const api = async (method: 'GET' | 'POST', url: string, payload: object | undefined, expected: number) => {
      const res = await platform.app.inject({ method, url, headers: { 'x-api-token': platform.token }, ...(payload ? { payload } : {}) });
      if (res.statusCode !== expected) throw new Error(`${url} answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
      return res.json();
    };
    // The device is the bootstrap admin's own: its numeric user id is the device's tenant (the answers' `userId`
    // is the username).
    const { data: admin } = (await api('GET', '/api/auth/verify', undefined, 200)) as { data: { id: number } };
    const { device } = (await api('POST', '/api/whatsapp/devices', { alias: 'webhook-bench', metadata: { crm: 'acct-42' } }, 201)) as { device: { id: number; sessionId: string } };
    // With its session stopped, the device's lifecycle events stay out of the measurement.
    await api('POST', `/api/whatsapp/devices/${device.id}/logout`, {}, 200);
    await api('POST', '/api/whatsapp/webhooks', { url: receiver.url, events: ['message.received'] }, 201);
    const send = platformSend(platform, { tenantId: admin.id, deviceId: device.id, sessionId: device.sessionId });
    await collect(receiver, await burst(send, WARMUP_EVENTS, APPENDERS), 'warm-up');
    return { receiver, send, close };
  } catch (err) {
    await close();
    throw err;
  }
}
