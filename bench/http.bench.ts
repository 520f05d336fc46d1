// An authenticated read of the platform (GET /api/auth/verify: API-token lookup in PostgreSQL plus the whole
// plugin stack) against a bare fastify route, so the ratio is the platform's own overhead on this machine.
import Fastify, { type FastifyInstance } from 'fastify';
import { startBenchPlatform } from './platform.ts';
import { load as runLoad, type LoadResult } from './load.ts';
import type { Row } from './types.ts';

const CONNECTIONS = 10;
const DURATION_S = 5;
const WARMUP_S = 1;

// A 401 or 404 would benchmark the error path, not the route: refuse to start on one.
async function load(url: string, headers: Record<string, string> = {}): Promise<LoadResult> {
  const probe = await fetch(url, { headers });
  if (probe.status !== 200) throw new Error(`GET ${url} answered ${probe.status}: ${await probe.text()}`);
  return runLoad({ url, headers, connections: CONNECTIONS, durationS: DURATION_S, warmupS: WARMUP_S });
}

async function measureBaseline(): Promise<LoadResult> {
  const app: FastifyInstance = Fastify();
  app.get('/', async () => ({ success: true, data: { valid: true } }));
  try {
    return await load(await app.listen({ port: 0, host: '127.0.0.1' }));
  } finally {
    await app.close();
  }
}

async function measurePlatform(): Promise<LoadResult> {
  const bench = await startBenchPlatform();
  try {
    return await load(`${bench.address}/api/auth/verify`, { 'x-api-token': bench.token });
  } finally {
    await bench.close();
  }
}

export default async function http(): Promise<Row[]> {
  const baseline = await measureBaseline();
  const platform = await measurePlatform();
  if (platform.non2xx || platform.errors || baseline.non2xx || baseline.errors) {
    console.error('http: some requests failed or were not 2xx, so the figures compare unlike work:', {
      platform: platform.statusCodes,
      baseline: baseline.statusCodes,
    });
    process.exitCode = 1;
  }
  const name = `http ${CONNECTIONS}c ${DURATION_S}s: GET /api/auth/verify vs bare fastify`;
  const row = (metric: string, unit: string, better: Row['better'], pick: (r: LoadResult) => number, compare = true): Row => {
    const [p, b] = [pick(platform), pick(baseline)];
    return { name, metric, platform: p, baseline: b, unit, ratio: compare && b ? p / b : null, better };
  };
  return [
    row('throughput', 'req/s', 'higher', (r) => r.requestsPerSec),
    row('p99 latency', 'ms', 'lower', (r) => r.p99Ms),
    row('non-2xx responses', 'count', 'lower', (r) => r.non2xx, false),
    row('errors + timeouts', 'count', 'lower', (r) => r.errors, false),
  ];
}
