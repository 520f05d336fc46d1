// A thousand SSE clients in a worker thread of their own: parsing a thousand streams on the event loop of the
// server under test would slow that server down and blur the comparison. Every event's JSON carries its append
// time (wall clock, comparable across threads) as `data.to`, and its phase as the prefix of `data.messageId`.
import http from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { wallMs } from './stats.ts';

export interface ClientsOptions {
  url: string;
  headers: Record<string, string>;
  clients: number;
}

export interface PhaseResult {
  received: number;
  // When the last frame of the phase reached any client.
  lastAtMs: number;
  latenciesMs: Float64Array;
  // Clients whose stream ended before they were told to close.
  disconnected: number;
}

type ToWorker = { type: 'collect'; phase: string; expected: number; timeoutMs: number } | { type: 'close' };
type FromWorker = { type: 'ready' } | { type: 'failed'; message: string } | { type: 'result'; result: PhaseResult };

export interface SseClients {
  // Resolves once `expected` frames of the phase arrived over all clients, or at the timeout with what did.
  collect(phase: string, expected: number, timeoutMs: number): Promise<PhaseResult>;
  close(): Promise<void>;
}

export function openClients(options: ClientsOptions): Promise<SseClients> {
  const worker = new Worker(new URL(import.meta.url), { workerData: options });
  let pending: { resolve: (r: PhaseResult) => void; reject: (e: Error) => void } | undefined;
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => (pending ? pending.reject(err) : reject(err));
    worker.on('error', fail);
    worker.on('exit', (code) => code && fail(new Error(`SSE client worker exited with code ${code}`)));
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'failed') return fail(new Error(message.message));
      if (message.type === 'result') return pending?.resolve(message.result);
      resolve({
        collect: (phase, expected, timeoutMs) =>
          new Promise((res, rej) => {
            pending = { resolve: res, reject: rej };
            worker.postMessage({ type: 'collect', phase, expected, timeoutMs } satisfies ToWorker);
          }),
        close: async () => {
          worker.postMessage({ type: 'close' } satisfies ToWorker);
          await new Promise((res) => worker.once('exit', res));
        },
      });
    });
  });
}

interface Phase {
  received: number;
  lastAtMs: number;
  latencies: number[];
}

async function runInWorker({ url, headers, clients }: ClientsOptions): Promise<void> {
  const port = parentPort!;
  // Node's default agent pools sockets per host; one that lets all clients hold a socket at once, explicitly.
  const agent = new http.Agent({ keepAlive: false, maxSockets: clients + 10 });
  const phases = new Map<string, Phase>();
  const requests: http.ClientRequest[] = [];
  let closing = false;
  let disconnected = 0;
  let waiter: (() => void) | undefined;

  const onFrame = (frame: string) => {
    const at = frame.indexOf('\ndata: ');
    if (at < 0) return; // retry: and heartbeat comments
    const now = wallMs();
    const { messageId, to } = (JSON.parse(frame.slice(at + 7)) as { data: { messageId: string; to: string } }).data;
    const name = messageId.slice(0, messageId.indexOf(':'));
    let phase = phases.get(name);
    if (!phase) phases.set(name, (phase = { received: 0, lastAtMs: 0, latencies: [] }));
    phase.received++;
    phase.lastAtMs = now;
    phase.latencies.push(now - Number(to));
    waiter?.();
  };

  // Resolves on the first bytes, which the servers send only once the client is subscribed.
  const connect = () =>
    new Promise<void>((resolve, reject) => {
      const request = http.get(url, { agent, headers }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`SSE answered ${res.statusCode}`));
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let start = 0;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n', start)) {
            onFrame(buffer.slice(start, end));
            start = end + 2;
          }
          buffer = buffer.slice(start);
          resolve();
        });
        res.on('close', () => closing || disconnected++);
      });
      request.on('error', (err) => (closing ? undefined : reject(err)));
      requests.push(request);
    });

  // In batches, so the listen backlog never overflows into SYN retries that would stall the start by seconds.
  for (let i = 0; i < clients; i += 100) await Promise.all(Array.from({ length: Math.min(100, clients - i) }, connect));
  port.postMessage({ type: 'ready' } satisfies FromWorker);

  port.on('message', (message: ToWorker) => {
    if (message.type === 'close') {
      closing = true;
      for (const request of requests) request.destroy();
      agent.destroy();
      port.close();
      return;
    }
    const { phase: name, expected, timeoutMs } = message;
    const finish = () => {
      clearTimeout(timer);
      waiter = undefined;
      const phase = phases.get(name) ?? { received: 0, lastAtMs: Number.NaN, latencies: [] };
      const latenciesMs = Float64Array.from(phase.latencies);
      const result: PhaseResult = { received: phase.received, lastAtMs: phase.lastAtMs, latenciesMs, disconnected };
      port.postMessage({ type: 'result', result } satisfies FromWorker, [latenciesMs.buffer]);
    };
    const timer = setTimeout(finish, timeoutMs);
    waiter = () => (phases.get(name)?.received ?? 0) >= expected && finish();
    waiter();
  });
}

if (!isMainThread) {
  runInWorker(workerData as ClientsOptions).catch((err: unknown) => {
    parentPort!.postMessage({ type: 'failed', message: String((err as Error)?.stack ?? err) } satisfies FromWorker);
  });
}
