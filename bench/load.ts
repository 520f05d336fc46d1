// Drives HTTP load from a worker thread of its own: sharing the event loop with the server under test would
// slow both sides. autocannon's histograms hold whole milliseconds, which reads 0 for a sub-millisecond p99,
// so latencies are collected here, from its per-response events, at full precision. Inside a worker thread
// autocannon also skips its own aggregation (it takes itself for one of its workers), so only the fields
// present in both result shapes are read.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  warmupS: number;
}

export interface LoadResult {
  requestsPerSec: number;
  p99Ms: number;
  non2xx: number;
  // Socket errors and timeouts: requests that never got an answer.
  errors: number;
  statusCodes: Record<string, number>;
}

export function load(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: options });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`load worker exited with code ${code} before answering`)));
  });
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : Number.NaN;
}

async function runInWorker(options: LoadOptions): Promise<LoadResult> {
  const { default: autocannon } = await import('autocannon');
  const latencies: number[] = [];
  const run = autocannon({
    url: options.url,
    headers: options.headers ?? {},
    connections: options.connections,
    duration: options.durationS,
    warmup: { connections: options.connections, duration: options.warmupS },
  });
  // With `warmup`, the returned tracker only reports the measured run.
  run.on('response', (_client, _status, _bytes, responseTimeMs) => latencies.push(responseTimeMs));
  const result = await run;
  return {
    requestsPerSec: latencies.length / result.duration,
    p99Ms: percentile(Float64Array.from(latencies).sort(), 0.99),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count])),
  };
}

if (!isMainThread && parentPort) parentPort.postMessage(await runInWorker(workerData as LoadOptions));
