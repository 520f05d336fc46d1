// The platform's embedded mode (neither DATABASE_URL nor REDIS_URL: its own PostgreSQL in DATA_DIR, queues on
// BullMQ's PostgreSQL backend, coordination in PostgreSQL) against its Redis mode (the machine's PostgreSQL and
// Redis), the same code measured the same way in the same run, modes alternating round by round:
// - end-to-end sends through BENCH_MESSAGING_SESSIONS (default 20) simulated sessions, limits off: a burst of
//   BENCH_MESSAGES_PER_SESSION (default 50) texts per session, then latency at one text per session a second
//   (messaging-runs.ts, as bench/messaging.bench.ts measures the platform side);
// - webhook deliveries of BENCH_WEBHOOK_EVENTS (default 2,000) appended inbound messages to a loopback receiver,
//   then latency at 20/s (webhook-pipeline.ts, as bench/webhooks.bench.ts measures the platform side).
// CPU per message twice: this process (platform and simulator or receiver), and the whole machine (PostgreSQL and
// Redis too, which the modes place differently; anyone else's work on a shared machine as well).
// Each mode starts afresh every round (the embedded one initialises its cluster). Runs in a child (child-run.ts).
import type { TestBackends } from '../tests/helpers/resources.ts';
import { rowsFromChild, serveRows } from './child-run.ts';
import { startMessagingFleet } from './messaging-fleet.ts';
import { burst, checkWholeNumbers, paced, settle } from './messaging-runs.ts';
import { cpuSteal, machineCpuMs, percentile, warnOnSteal } from './stats.ts';
import type { Row } from './types.ts';
import * as webhooks from './webhook-pipeline.ts';

const SESSIONS = Number(process.env.BENCH_MESSAGING_SESSIONS ?? 20);
const PER_SESSION = Number(process.env.BENCH_MESSAGES_PER_SESSION ?? 50);
const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 2000);
const ROUNDS = 2;
const PACE = { perSession: 5, intervalMs: 1000 };
// The rows' platform and baseline.
const MODES = ['embedded', 'redis'] as const satisfies TestBackends[];
type Mode = (typeof MODES)[number];

interface Sample {
  perS: number;
  cpuMs: number;
  machineCpuMs: number;
  latencies: number[];
}

async function messaging(mode: Mode, round: number): Promise<Sample> {
  const fleet = await startMessagingFleet({ sessions: SESSIONS, bareSessions: 0, backends: mode });
  try {
    // Signal sessions with each contact set up, send workers and code paths warm (see messaging.bench.ts).
    await burst(fleet, 'platform', 'warm-up', 1);
    await settle(fleet, SESSIONS);
    const machine = machineCpuMs();
    const result = await burst(fleet, 'platform', 'burst', PER_SESSION);
    const total = SESSIONS * PER_SESSION;
    const machineCpu = machine() / total;
    console.error(`modes: ${mode} messaging ${round}: ${result.perS.toFixed(0)} messages/s, ${result.cpuMsPerMessage.toFixed(2)} ms CPU per message here, ${machineCpu.toFixed(1)} on the machine`);
    await settle(fleet, SESSIONS + total);
    const { asked } = await paced(fleet, 'platform', 'paced', PACE);
    return { perS: result.perS, cpuMs: result.cpuMsPerMessage, machineCpuMs: machineCpu, latencies: asked };
  } finally {
    await fleet.close();
  }
}

async function deliveries(mode: Mode, round: number): Promise<Sample> {
  const pipeline = await webhooks.startWebhookPipeline(mode);
  try {
    const machine = machineCpuMs();
    const inBurst = await webhooks.collect(pipeline.receiver, await webhooks.burst(pipeline.send, EVENTS, webhooks.APPENDERS), `${mode} burst`);
    const machineCpu = machine() / EVENTS;
    console.error(`modes: ${mode} webhooks ${round}: ${inBurst.perSecond.toFixed(0)} deliveries/s, ${inBurst.cpuMs.toFixed(2)} ms CPU per delivery here, ${machineCpu.toFixed(1)} on the machine`);
    const atPace = await webhooks.collect(pipeline.receiver, await webhooks.paced(pipeline.send, webhooks.PACED_EVENTS, webhooks.PACED_PER_S), `${mode} paced`);
    return { perS: inBurst.perSecond, cpuMs: inBurst.cpuMs, machineCpuMs: machineCpu, latencies: atPace.latencies };
  } finally {
    await pipeline.close();
  }
}

async function measure(): Promise<Row[]> {
  checkWholeNumbers({ BENCH_MESSAGING_SESSIONS: SESSIONS, BENCH_MESSAGES_PER_SESSION: PER_SESSION, BENCH_WEBHOOK_EVENTS: EVENTS });
  const samples = { messaging: { embedded: [] as Sample[], redis: [] as Sample[] }, webhooks: { embedded: [] as Sample[], redis: [] as Sample[] } };
  const steal = cpuSteal();
  for (let round = 0; round < ROUNDS; round++) {
    // The mode measured first alternates, so a load that grows or fades over the run favours neither.
    for (const mode of round % 2 ? [...MODES].reverse() : MODES) {
      samples.messaging[mode].push(await messaging(mode, round));
      samples.webhooks[mode].push(await deliveries(mode, round));
    }
  }
  warnOnSteal('modes', steal());

  const rows = (name: string, of: Record<Mode, Sample[]>, throughput: string, paceLabel: string): Row[] => {
    const row = (metric: string, unit: string, better: Row['better'], pick: (samples: Sample[]) => number): Row => {
      const [platform, baseline] = [pick(of.embedded), pick(of.redis)];
      return { name, metric, platform, baseline, unit, ratio: platform / baseline, better };
    };
    const median = (pick: (s: Sample) => number) => (samples: Sample[]) => percentile(samples.map(pick), 0.5);
    const latency = (p: number) => (samples: Sample[]) => percentile(samples.flatMap((s) => s.latencies), p);
    return [
      row(`${throughput} in the burst (median of ${ROUNDS})`, throughput, 'higher', median((s) => s.perS)),
      row('Node.js CPU per item in the burst (this process)', 'ms', 'lower', median((s) => s.cpuMs)),
      row('machine CPU per item in the burst (all processes: PostgreSQL, Redis too)', 'ms', 'lower', median((s) => s.machineCpuMs)),
      row(`latency p50 at ${paceLabel}`, 'ms', 'lower', latency(0.5)),
      row(`latency p99 at ${paceLabel}`, 'ms', 'lower', latency(0.99)),
    ];
  };
  return [
    ...rows(`modes: sends through ${SESSIONS} sessions, ${PER_SESSION} each, POST /send → at the phone (embedded vs Redis mode)`, samples.messaging, 'msg/s', `${SESSIONS} msg/s, asked → at the phone`),
    ...rows(`modes: webhooks, ${EVENTS} appends → receiver (embedded vs Redis mode)`, samples.webhooks, 'deliveries/s', `${webhooks.PACED_PER_S}/s, append → arrival`),
  ];
}

export default (): Promise<Row[]> => rowsFromChild(import.meta.filename, 'modes', 20 * 60_000);

if (import.meta.main) await serveRows(measure);
