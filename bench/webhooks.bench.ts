// Webhook deliveries from event append to a local receiver that answers 200 at once (webhook-pipeline.ts: the real
// platform in-process, API and worker). The baseline is a bare node:http POST loop (keep-alive agent) to the same
// receiver, with the same body and headers and as many requests in flight as the platform's webhook worker runs
// jobs, so the ratio is what the pipeline costs over the HTTP exchange itself. Both sides are timed the same way:
// from the moment a delivery became due (the append committed; the POST was started) to its arrival.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { APPENDERS, burst, collect, CONCURRENCY, PACED_EVENTS, PACED_PER_S, paced, startWebhookPipeline, type Receiver, type Send } from './webhook-pipeline.ts';
import { cleanupAll, cpuSteal, percentile, warnOnSteal } from './stats.ts';
import type { Row } from './types.ts';

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 2000);
const WARMUP_EVENTS = 100;

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
    const pipeline = await startWebhookPipeline('redis');
    closers.push(() => pipeline.close());
    const { receiver, send: onPlatform } = pipeline;
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
