// Where one send and one webhook delivery go: `npm run profile [send] [webhook]` runs the real platform in this
// process (Redis mode, as bench/messaging.bench.ts and bench/webhooks.bench.ts do) and, over a run of sends or
// deliveries, counts PostgreSQL statements and Redis round trips per item (bench/round-trips.ts) and takes a CPU
// profile (bench/cpu-profile.ts), printed per place and per function. Not a benchmark (no baseline, no ratio): it
// says what the benchmarks' figures are made of. PROFILE_SESSIONS (default 20, as the messaging benchmark) with
// PROFILE_SENDS texts each (default 25), and PROFILE_DELIVERIES (default 1,000) size the runs; PROFILE_SAVE=dir also
// writes each .cpuprofile (open it in Chrome's DevTools).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCpuProfile, type CpuSummary } from './cpu-profile.ts';
import { startMessagingFleet } from './messaging-fleet.ts';
import { burst as sendBurst, settle } from './messaging-runs.ts';
import { countRoundTrips, type RoundTrips } from './round-trips.ts';
import { APPENDERS, burst as deliveryBurst, collect, startWebhookPipeline } from './webhook-pipeline.ts';

const SESSIONS = Number(process.env.PROFILE_SESSIONS ?? 20);
const SENDS = Number(process.env.PROFILE_SENDS ?? 25);
const DELIVERIES = Number(process.env.PROFILE_DELIVERIES ?? 1000);
const SAVE = process.env.PROFILE_SAVE;
const TOP = 15;

const counter = countRoundTrips();

function report(title: string, items: number, trips: RoundTrips, cpu: CpuSummary): void {
  const per = (n: number) => (n / items).toFixed(2);
  console.log(`\n## ${title}: per item, over ${items}`);
  console.log(`PostgreSQL statements ${per(trips.postgres)} · Redis round trips ${per(trips.redis)} (commands ${per(trips.redisCommands)}) · CPU ${per(cpu.totalMs)} ms`);
  console.log('\nstatements (per item):');
  for (const [text, n] of trips.byStatement.slice(0, TOP)) console.log(`  ${per(n).padStart(6)}  ${text}`);
  console.log('\nRedis commands (per item):');
  for (const [name, n] of trips.byCommand.slice(0, TOP)) console.log(`  ${per(n).padStart(6)}  ${name}`);
  console.log('\nCPU by place (ms per item, share):');
  for (const [place, ms] of cpu.byPlace.slice(0, TOP)) console.log(`  ${per(ms).padStart(6)}  ${((100 * ms) / cpu.totalMs).toFixed(1).padStart(5)}%  ${place}`);
  console.log('\nCPU by function (self, ms per item):');
  for (const [fn, ms] of cpu.byFunction.slice(0, TOP)) console.log(`  ${per(ms).padStart(6)}  ${fn}`);
}

async function measured<T>(label: string, run: () => Promise<T>): Promise<{ result: T; trips: RoundTrips; cpu: CpuSummary }> {
  counter.reset();
  const profile = await startCpuProfile();
  const result = await run();
  const trips = counter.read();
  const cpu = await profile.stop(SAVE ? join(SAVE, `${label}.cpuprofile`) : undefined);
  return { result, trips, cpu };
}

// Sessions each sending to a contact of their own (a chat it already has), POST /send after POST /send as a client
// would, all sessions at once (the messaging benchmark's burst), each text through the dispatcher, the session's
// queue and sender, Baileys and the simulator, until its delivered receipt is recorded and every projection has
// caught up. With the send policy on (the platform's default), for old numbers (no warm-up ramp), and off.
async function profileSends(policy: 'on' | 'off'): Promise<void> {
  const fleet = await startMessagingFleet({ sessions: SESSIONS, bareSessions: 0, env: { SEND_POLICY: policy } });
  try {
    const res = await fetch(`${fleet.platform.address}/api/warmer/devices`, { headers: { 'x-api-token': fleet.platform.token } });
    for (const device of ((await res.json()) as { data: { id: number }[] }).data) {
      const put = await fetch(`${fleet.platform.address}/api/whatsapp/devices/${device.id}/send-policy`, {
        method: 'PUT',
        headers: { 'x-api-token': fleet.platform.token, 'content-type': 'application/json' },
        body: JSON.stringify({ warmupFrom: null }),
      });
      if (put.status !== 200) throw new Error(`send-policy answered ${put.status}`);
    }
    await sendBurst(fleet, 'platform', 'warm-up', 2);
    await settle(fleet, 2 * SESSIONS);
    const { trips, cpu } = await measured(`send-policy-${policy}`, async () => {
      await sendBurst(fleet, 'platform', 'profiled', SENDS);
      await settle(fleet, (2 + SENDS) * SESSIONS);
    });
    report(`one send (POST /api/whatsapp/send → at the phone → delivered recorded; ${SESSIONS} sessions at once), send policy ${policy}`, SENDS * SESSIONS, trips, cpu);
  } finally {
    await fleet.close();
  }
}

// Inbound messages appended as the session host records them, each delivered to one endpoint (bench/webhook-pipeline.ts).
async function profileDeliveries(): Promise<void> {
  const pipeline = await startWebhookPipeline('redis');
  try {
    // The attempts are recorded in batches after the POSTs: a second more takes them in.
    const { trips, cpu } = await measured('webhook', async () => {
      await collect(pipeline.receiver, await deliveryBurst(pipeline.send, DELIVERIES, APPENDERS), 'profiled');
      await sleep(1000);
    });
    report('one webhook delivery (message.received appended → projections → dispatcher → job → POST → attempt recorded)', DELIVERIES, trips, cpu);
  } finally {
    await pipeline.close();
  }
}

const wanted = process.argv.slice(2);
const want = (name: string) => !wanted.length || wanted.includes(name);
if (want('send')) {
  await profileSends('on');
  await profileSends('off');
}
if (want('webhook')) await profileDeliveries();
