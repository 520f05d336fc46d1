// Send load on worker processes holding many sessions, as deployed: an API process and worker processes run
// src/main.ts (tests/helpers/processes.ts) on one database and Redis prefix; this process runs the WhatsApp
// simulator, the HTTP client (in a worker thread of its own) and the measurements, so each platform process's CPU
// and RSS are read from /proc apart from the load's. The devices are paired once by the session host in this
// process (session-fleet.ts), each gets a contact of its own that answers with delivered receipts, and the
// workers restore them from storage as after a restart. Load is open loop (open-loop.ts): requests go out on
// schedule however far the platform falls behind, so lag and backlog show rather than a slower client.
// - sustain: BENCH_SESSIONS (default 500) sessions on one worker, each offered one text a second for
//   BENCH_SUSTAIN_SECONDS (default 60), staggered evenly over the second. Per 10 s window: arrivals at the phones
//   per second, lag (202 → phone) p50/p99; the lag's slope; the backlog when the offered load ends and how long it
//   took to drain; the worker process's CPU per text and RSS, read from /proc apart from this process's.
//   Where the backlog waits is logged per window: texts in the log the send dispatcher has not yet queued.
// - spread: BENCH_SPREAD_SESSIONS (default 100) sessions, two workers started at once (BENCH_SPREAD_START=together)
//   or the second once the first holds every session (staggered: a rolling restart, a scale-up), BENCH_SPREAD_RATE
//   (default 50) texts/s for BENCH_SPREAD_SECONDS (default 20), round-robin over the sessions: how many sessions
//   each worker holds (lease owners), how many texts each sent (by the holder of the text's session), and each
//   one's CPU.
// BENCH_FLEET_PHASES picks phases (default sustain,spread); BENCH_DRAIN_SECONDS (300) bounds the wait for a
// backlog. BENCH_PROFILE_WORKER=1 also takes a CPU profile of the sustain phase's worker over load and drain
// (over the inspector; the profiler's own cost is then in every figure). Rows compare with the issue's targets or
// an even share, not with a raw component. Runs in a child process (child-run.ts).
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, PROCESS_ADMIN_TOKEN, startPlatformProcess, stopProcess, untilReady, type PlatformProcess } from '../tests/helpers/processes.ts';
import { until } from '../tests/helpers/wait.ts';
import { rowsFromChild, serveRows } from './child-run.ts';
import { profileOverInspector } from './inspector-profile.ts';
import type { CpuSummary } from './cpu-profile.ts';
import { Arrivals, backlogAt, failureReasons, lagSlope, offer, windows, type Api, type Offer, type Target, type Window } from './open-loop.ts';
import { UNPACED_SENDING } from './platform.ts';
import { pairFleet, type Fleet } from './session-fleet.ts';
import { checkWholeNumbers } from './messaging-runs.ts';
import { cleanupAll, cpuSteal, machineCpuMs, percentile, processUsage, warnOnSteal, type ProcessUsage } from './stats.ts';
import type { Row } from './types.ts';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 500);
const SUSTAIN_S = Number(process.env.BENCH_SUSTAIN_SECONDS ?? 60);
const SPREAD_SESSIONS = Number(process.env.BENCH_SPREAD_SESSIONS ?? 100);
const SPREAD_RATE = Number(process.env.BENCH_SPREAD_RATE ?? 50);
const SPREAD_S = Number(process.env.BENCH_SPREAD_SECONDS ?? 20);
// Past this the backlog is reported as left over rather than waited for.
const DRAIN_LIMIT_S = Number(process.env.BENCH_DRAIN_SECONDS ?? 300);
const PHASES = (process.env.BENCH_FLEET_PHASES ?? 'sustain,spread').split(',');
const PROFILE_WORKER = process.env.BENCH_PROFILE_WORKER === '1';
// The issue's target for one deployment.
const TARGET_PER_S = 500;
const WINDOW_MS = 10_000;
// The first text to each contact fetches its pre-keys and sets up a Signal session: done before measuring, this fast.
const WARM_UP_PER_S = 50;
const SAMPLE_MS = 1000;
const STAGGER_SETTLE_MS = 15_000;
const SPREAD_START = process.env.BENCH_SPREAD_START ?? 'together';
// Sessions held with nothing to send, just before the load: the share of the worker's CPU a text does not cause.
const IDLE_MS = 5000;
const MB = 2 ** 20;

interface Rig {
  fleet: Fleet;
  targets: Target[];
  api: Api;
  workers: PlatformProcess[];
  // Each worker's inspector port, where it was started with one.
  inspectPorts: (number | undefined)[];
  apiProcess: PlatformProcess;
  // Seconds from spawning the workers until every session reported device.connected.
  restoredS: number;
  close(): Promise<void>;
}

// A phone per session to write to, numbered apart from session-fleet.ts' senders.
const contactNumber = (i: number) => `6281300${String(i).padStart(6, '0')}`;

interface RigOptions {
  workers: number;
  // Workers started with an inspector port each (BENCH_PROFILE_WORKER).
  inspect?: boolean;
  // The first worker restores every session before the others start, as after a rolling restart or a scale-up.
  staggered?: boolean;
}

async function startRig(sessions: number, label: string, { workers: workerCount, inspect = false, staggered = false }: RigOptions): Promise<Rig> {
  console.error(`fleet-load ${label}: pairing ${sessions} devices through the simulator…`);
  const fleet = await pairFleet({ sessions, scanInterval: '1s' });
  const running: PlatformProcess[] = [];
  const close = () => cleanupAll('fleet-load', [() => Promise.all(running.map((p) => stopProcess(p, 'SIGKILL'))), () => fleet.close()]);
  try {
    const targets = fleet.devices.map(({ sessionId }, i) => {
      const contact = fleet.sim.createPhone(contactNumber(i)).number;
      // One receipt per text: message.delivered is recorded, as a real contact's phone would make it.
      fleet.sim.setReceipts(contact, { policy: 'delivered', delayMs: 0 });
      return { sessionId, contact };
    });
    const start = (env: Record<string, string>) => {
      const started = startPlatformProcess(fleet.resources, { ...fleet.env, ...UNPACED_SENDING, SESSION_SCAN_INTERVAL: '1s', LOG_LEVEL: 'warn', RATE_LIMIT_ENABLED: 'false', ...env });
      running.push(started);
      return started;
    };
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const apiProcess = start({ ROLE: 'api', PORT: String(port) });
    await untilReady(base, apiProcess);
    const mark = await fleet.lastPosition();
    const spawnedAt = Date.now();
    const inspectPorts = await Promise.all(Array.from({ length: workerCount }, async () => (inspect ? freePort() : undefined)));
    const startWorker = async (inspectPort: number | undefined) =>
      start({ ROLE: 'worker', PORT: String(await freePort()), ...(inspectPort ? { NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` } : {}) });
    const allConnected = (workers: PlatformProcess[]) =>
      until(
        async () => {
          const dead = workers.find((w) => w.child.exitCode !== null || w.child.signalCode !== null);
          if (dead) throw new Error(`a worker exited:\n${dead.output().slice(-4000)}`);
          return (await fleet.connectedSince(mark)) === sessions ? true : undefined;
        },
        `${sessions} sessions connected`,
        60_000 + 1000 * sessions,
      );
    // Otherwise at once, as a deployment starts its replicas: which one gets which sessions is the session host's doing.
    const workers = await Promise.all((staggered ? inspectPorts.slice(0, 1) : inspectPorts).map(startWorker));
    await allConnected(workers);
    const restoredS = (Date.now() - spawnedAt) / 1000;
    if (staggered) {
      workers.push(...(await Promise.all(inspectPorts.slice(1).map(startWorker))));
      // Long enough for the late workers to start and scan many times over (SESSION_SCAN_INTERVAL 1 s).
      await sleep(STAGGER_SETTLE_MS);
    }
    console.error(`fleet-load ${label}: ${sessions} sessions connected ${restoredS.toFixed(1)} s after ${staggered ? `the first of ${workerCount} workers was` : `${workerCount} worker(s) were`} started`);
    return { fleet, targets, api: { base, headers: { 'x-admin-token': PROCESS_ADMIN_TOKEN } }, workers, inspectPorts, apiProcess, restoredS, close };
  } catch (err) {
    await close();
    throw err;
  }
}

// /proc readings of the platform's processes every SAMPLE_MS, to cut CPU and memory by window afterwards, and
// where the backlog waits: texts in the log not yet dispatched, against those on the sessions' queues.
function sampleProcesses(pids: number[], fleet: Fleet) {
  const samples: { at: number; usage: (ProcessUsage | undefined)[]; undispatched: Promise<number> }[] = [];
  const take = () => samples.push({ at: Date.now(), usage: pids.map(processUsage), undispatched: fleet.undispatched().catch(() => Number.NaN) });
  take();
  const timer = setInterval(take, SAMPLE_MS);
  // The reading nearest `at`: windows are whole seconds, samples a second apart.
  const nearest = (at: number) => samples.reduce((best, s) => (Math.abs(s.at - at) < Math.abs(best.at - at) ? s : best));
  return {
    stop: () => (take(), clearInterval(timer)),
    cpuMs: (k: number, from: number, to: number) => (nearest(to).usage[k]?.cpuMs ?? Number.NaN) - (nearest(from).usage[k]?.cpuMs ?? Number.NaN),
    cores: (k: number, from: number, to: number) => {
      const [a, b] = [nearest(from), nearest(to)];
      return ((b.usage[k]?.cpuMs ?? Number.NaN) - (a.usage[k]?.cpuMs ?? Number.NaN)) / (b.at - a.at);
    },
    rssBytes: (k: number, at: number) => nearest(at).usage[k]?.rssBytes ?? Number.NaN,
    undispatched: (at: number) => nearest(at).undispatched,
    peakRssBytes: (k: number, from: number, to: number) => Math.max(...samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.usage[k]?.rssBytes ?? 0)),
  };
}

async function warmUp(rig: Rig, arrivals: Arrivals): Promise<void> {
  const warm = await offer(rig.targets, rig.api, { label: 'warm-up', count: rig.targets.length, ratePerS: Math.min(WARM_UP_PER_S, rig.targets.length) });
  if ((await arrivals.drain(warm, 120_000)) === undefined) throw new Error('warm-up texts did not all arrive within 120 s');
  const failed = warm.sent.filter((s) => s.failed);
  if (failed.length) throw new Error(`${failed.length} warm-up sends failed, e.g. ${failed[0]!.failed}`);
  // Receipts recorded and projections caught up: the measurement does not pay for the warm-up's leftovers.
  await sleep(3000);
}

interface Run {
  load: Offer;
  windows: Window[];
  achievedPerS: number;
  backlog: { unanswered: number; queued: number };
  // From the end of the offered load to the last arrival; undefined if it took longer than DRAIN_LIMIT_S.
  drainS: number | undefined;
  left: number;
  endedAt: number;
  failed: number;
  slope: number;
}

async function drive(rig: Rig, arrivals: Arrivals, label: string, count: number, ratePerS: number): Promise<Run> {
  const load = await offer(rig.targets, rig.api, { label, count, ratePerS });
  const lastAt = await arrivals.drain(load, DRAIN_LIMIT_S * 1000);
  const endedAt = Date.now();
  const arrivedInLoad = [...arrivals.at.values()].filter((t) => t >= load.startedAt && t < load.endsAt).length;
  const left = load.sent.filter((s) => s.acceptedAt !== undefined && !arrivals.at.has(s.text)).length;
  return {
    load,
    windows: windows(load, arrivals, WINDOW_MS),
    achievedPerS: (arrivedInLoad * 1000) / (load.endsAt - load.startedAt),
    backlog: backlogAt(load, arrivals, load.endsAt),
    drainS: lastAt === undefined ? undefined : Math.max(0, (lastAt - load.endsAt) / 1000),
    left,
    endedAt: lastAt ?? endedAt,
    failed: load.sent.filter((s) => s.failed).length,
    slope: lagSlope(load, arrivals),
  };
}

function printProfile(cpu: CpuSummary, texts: number): void {
  const per = (ms: number) => `${(ms / texts).toFixed(2)} ms`;
  console.error(`fleet-load sustain: worker CPU profile over load + drain, ${per(cpu.totalMs)} per text (profiler on); by place:`);
  for (const [place, ms] of cpu.byPlace.slice(0, 12)) console.error(`  ${per(ms).padStart(9)}  ${((100 * ms) / cpu.totalMs).toFixed(1).padStart(5)}%  ${place}`);
  console.error('fleet-load sustain: by function:');
  for (const [fn, ms] of cpu.byFunction.slice(0, 15)) console.error(`  ${per(ms).padStart(9)}  ${fn}`);
}

type Meter = ReturnType<typeof sampleProcesses>;

// Per window, besides what windows() gives: the backlog at its end (accepted, not yet at a phone), how much of
// it the send dispatcher had not yet put on a session's queue, and each worker's CPU.
async function printWindows(label: string, run: Run, arrivals: Arrivals, meter: Meter, workers: number): Promise<void> {
  const f = (v: number) => (Number.isNaN(v) ? '-' : v === Number.POSITIVE_INFINITY ? '∞' : v.toFixed(0));
  console.error(`fleet-load ${label}: window  offered  accepted  arrived  arrivals/s  202→phone p50/p99 ms  asked→phone p50/p99 ms  ask slip p99 ms  backlog at end (undispatched)  worker cores`);
  for (const w of run.windows) {
    const from = run.load.startedAt + w.fromS * 1000;
    const to = Math.min(from + WINDOW_MS, run.load.endsAt);
    const backlog = `${backlogAt(run.load, arrivals, to).queued} (${await meter.undispatched(to)})`;
    const cores = Array.from({ length: workers }, (_, k) => meter.cores(k, from, to).toFixed(2)).join(' + ');
    console.error(
      `fleet-load ${label}: ${String(w.fromS).padStart(4)} s  ${String(w.offered).padStart(7)}  ${String(w.accepted).padStart(8)}  ${String(w.arrived).padStart(7)}  ${w.arrivedPerS.toFixed(1).padStart(10)}  ` +
        `${`${f(w.lagMs.p50)}/${f(w.lagMs.p99)}`.padStart(20)}  ${`${f(w.askedLagMs.p50)}/${f(w.askedLagMs.p99)}`.padStart(22)}  ${f(w.askSlipP99Ms).padStart(15)}  ${backlog.padStart(29)}  ${cores}`,
    );
  }
  const drained = run.drainS === undefined ? `not drained within ${DRAIN_LIMIT_S} s (${run.left} texts accepted but not at a phone)` : `drained ${run.drainS.toFixed(1)} s after the load ended`;
  const twice = `${arrivals.duplicates ? `; ${arrivals.duplicates} texts arrived twice under two ids` : ''}${arrivals.resent ? `; ${arrivals.resent} resent under the same id` : ''}`;
  console.error(
    `fleet-load ${label}: ${run.load.sent.length} offered, ${run.failed} failed${run.failed ? ` (${failureReasons(run.load)})` : ''}; ${run.achievedPerS.toFixed(1)} arrivals/s during the load; lag slope ${run.slope.toFixed(1)} ms per s; ` +
      `at the end ${run.backlog.queued} accepted but not at a phone (${await meter.undispatched(run.load.endsAt)} not yet dispatched) and ${run.backlog.unanswered} requests unanswered; ${drained}${twice}; ` +
      // Others' work on a shared machine moves every figure here; the load average says how much there was.
      `load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  );
  // The platform sends each message as one WhatsApp message: a text arriving under two ids is a fault, whatever the figures.
  if (arrivals.duplicates) process.exitCode = 1;
}

// Texts accepted and never sent are the platform's fault to chase, not a figure: what its workers said helps.
function reportLeftOver(run: Run, rig: Rig): void {
  if (!run.left) return;
  rig.workers.forEach((worker, k) => console.error(`fleet-load: ${run.left} texts accepted and not delivered; worker ${k + 1}'s last output:\n${worker.output().slice(-6000)}`));
}

async function sustain(): Promise<Row[]> {
  const rig = await startRig(SESSIONS, 'sustain', { workers: 1, inspect: PROFILE_WORKER });
  const arrivals = new Arrivals(rig.fleet.sim, rig.targets.map((t) => t.contact));
  try {
    await warmUp(rig, arrivals);
    const [worker] = rig.workers;
    const meter = sampleProcesses([worker!.child.pid!, rig.apiProcess.child.pid!], rig.fleet);
    const idleFrom = Date.now();
    await sleep(IDLE_MS);
    const idleCores = meter.cores(0, idleFrom, Date.now());
    const ownCpu = process.cpuUsage();
    const machine = machineCpuMs();
    const steal = cpuSteal();
    console.error(`fleet-load sustain: ${SESSIONS} sessions × 1 text/s for ${SUSTAIN_S} s (${SESSIONS} texts/s offered)…`);
    const profile = rig.inspectPorts[0] ? await profileOverInspector(rig.inspectPorts[0]) : undefined;
    const run = await drive(rig, arrivals, 'sustain', SESSIONS * SUSTAIN_S, SESSIONS);
    meter.stop();
    if (profile) printProfile(await profile.stop(), run.load.sent.filter((s) => arrivals.at.has(s.text)).length);
    const { user, system } = process.cpuUsage(ownCpu);
    const machineMs = machine();
    warnOnSteal('fleet-load sustain', steal());
    await printWindows('sustain', run, arrivals, meter, 1);
    reportLeftOver(run, rig);

    const { startedAt, endsAt } = run.load;
    const delivered = run.load.sent.filter((s) => arrivals.at.has(s.text)).length;
    const workerMs = meter.cpuMs(0, startedAt, run.endedAt);
    const spanMs = run.endedAt - startedAt;
    const netMsPerText = (workerMs - idleCores * spanMs) / delivered;
    console.error(
      `fleet-load sustain: worker ${(workerMs / delivered).toFixed(2)} ms CPU per text, ${netMsPerText.toFixed(2)} ms over its idle ${idleCores.toFixed(3)} cores (${(workerMs / spanMs).toFixed(2)} cores over load and drain), ` +
        `API process ${(meter.cpuMs(1, startedAt, run.endedAt) / delivered).toFixed(2)} ms, this process (simulator + HTTP client) ${((user + system) / 1000 / delivered).toFixed(2)} ms, ` +
        `machine ${(machineMs / spanMs).toFixed(2)} of 2 cores; worker RSS ${(meter.rssBytes(0, startedAt) / MB).toFixed(0)} MB before, peak ${(meter.peakRssBytes(0, startedAt, run.endedAt) / MB).toFixed(0)} MB`,
    );

    const [first, last] = [run.windows[0]!, run.windows.at(-1)!];
    const name = `fleet load: ${SESSIONS} sessions on one worker process, 1 text/s each for ${SUSTAIN_S} s, open loop (src/main.ts API + worker)`;
    const row = (metric: string, platform: number, baseline: number, unit: string, better: Row['better'], ratio: number | null = platform / baseline): Row => ({ name, metric, platform, baseline, unit, ratio, better });
    const offered = (run.load.sent.length * 1000) / (endsAt - startedAt);
    return [
      row('texts at the phones per second during the load (baseline: offered)', run.achievedPerS, offered, 'msg/s', 'higher'),
      row(`same (baseline: the issue's target, ${TARGET_PER_S} msg/s)`, run.achievedPerS, TARGET_PER_S, 'msg/s', 'higher'),
      row(`lag p50, 202 → phone, last ${WINDOW_MS / 1000} s window (∞: over half not at a phone by the drain limit; baseline: first window)`, last.lagMs.p50, first.lagMs.p50, 'ms', 'lower'),
      row(`lag p99, 202 → phone, last ${WINDOW_MS / 1000} s window (∞: some not at a phone by the drain limit; baseline: first window)`, last.lagMs.p99, first.lagMs.p99, 'ms', 'lower'),
      row('lag slope, 202 → phone, over the time each text was due (baseline: 0, not growing)', run.slope, 0, 'ms/s', 'lower', null),
      row('accepted but not yet at a phone when the load ended (baseline: texts offered)', run.backlog.queued, run.load.sent.length, 'texts', 'lower'),
      row('requests not yet answered when the load ended (baseline: texts offered)', run.backlog.unanswered, run.load.sent.length, 'texts', 'lower'),
      row(`draining the backlog, load end → last text at a phone (NaN: not within ${DRAIN_LIMIT_S} s; baseline: the load's length)`, run.drainS ?? Number.NaN, SUSTAIN_S, 's', 'lower'),
      row(`texts left undelivered after the drain limit (baseline: texts offered)`, run.left, run.load.sent.length, 'texts', 'lower'),
      row(`worker process CPU per text at a phone, load + drain (baseline: one core's budget at ${TARGET_PER_S} msg/s)`, workerMs / delivered, 1000 / TARGET_PER_S, 'ms', 'lower'),
      row(`same, less the worker's idle CPU (${SESSIONS} sessions held, nothing to send, ${IDLE_MS / 1000} s before the load)`, netMsPerText, 1000 / TARGET_PER_S, 'ms', 'lower'),
      row('worker process CPU over load + drain (baseline: one core)', workerMs / spanMs, 1, 'cores', 'lower'),
      row(`worker process CPU idle, ${SESSIONS} sessions held (baseline: one core)`, idleCores, 1, 'cores', 'lower'),
      row(`worker process RSS, peak during load + drain (baseline: before the load, ${SESSIONS} sessions connected)`, meter.peakRssBytes(0, startedAt, run.endedAt) / MB, meter.rssBytes(0, startedAt) / MB, 'MB', 'lower'),
      row(`all ${SESSIONS} sessions connected after the worker was started (baseline: the bare sessions benchmark's figure is in its own rows)`, rig.restoredS, rig.restoredS, 's', 'lower', null),
    ];
  } finally {
    arrivals.stop();
    await rig.close();
  }
}

async function spread(): Promise<Row[]> {
  const rig = await startRig(SPREAD_SESSIONS, 'spread', { workers: 2, staggered: SPREAD_START === 'staggered' });
  const arrivals = new Arrivals(rig.fleet.sim, rig.targets.map((t) => t.contact));
  try {
    const pids = rig.workers.map((w) => w.child.pid!);
    const ownerPid = (owner: string | undefined) => (owner === undefined ? undefined : Number(owner.split(':').at(-1)));
    const holdersBefore = (await rig.fleet.leaseOwners()).map(ownerPid);
    const held = pids.map((pid) => holdersBefore.filter((h) => h === pid).length);
    console.error(`fleet-load spread: sessions held after start: ${pids.map((pid, k) => `worker ${k + 1} (pid ${pid}) ${held[k]}`).join(', ')}`);
    await warmUp(rig, arrivals);
    const meter = sampleProcesses(pids, rig.fleet);
    console.error(`fleet-load spread: ${SPREAD_RATE} texts/s for ${SPREAD_S} s over ${SPREAD_SESSIONS} sessions…`);
    const run = await drive(rig, arrivals, 'spread', SPREAD_RATE * SPREAD_S, SPREAD_RATE);
    meter.stop();
    const holdersAfter = (await rig.fleet.leaseOwners()).map(ownerPid);
    const moved = holdersAfter.filter((h, i) => h !== holdersBefore[i]).length;
    if (moved) console.error(`fleet-load spread: ${moved} sessions changed holder during the load; their texts are counted for the holder at the start`);
    await printWindows('spread', run, arrivals, meter, pids.length);
    reportLeftOver(run, rig);

    const sentBy = pids.map((pid) => run.load.sent.filter((s) => holdersBefore[s.target] === pid && arrivals.at.has(s.text)).length);
    const cpuMs = pids.map((_, k) => meter.cpuMs(k, run.load.startedAt, run.endedAt));
    const spanMs = run.endedAt - run.load.startedAt;
    pids.forEach((pid, k) =>
      console.error(`fleet-load spread: worker ${k + 1} (pid ${pid}): ${held[k]} sessions, ${sentBy[k]} texts sent, ${(cpuMs[k]! / spanMs).toFixed(2)} cores, ${sentBy[k] ? `${(cpuMs[k]! / sentBy[k]!).toFixed(2)} ms CPU per text it sent` : 'no texts sent (its CPU is the log readers, scans and leases)'}`),
    );

    const started = SPREAD_START === 'staggered' ? `the second started once the first held every session` : 'started at once';
    const name = `fleet spread: ${SPREAD_SESSIONS} sessions, two worker processes ${started}, ${SPREAD_RATE} texts/s for ${SPREAD_S} s (src/main.ts API + 2 workers)`;
    const row = (metric: string, platform: number, baseline: number, unit: string, better: Row['better'], ratio: number | null = platform / baseline): Row => ({ name, metric, platform, baseline, unit, ratio, better });
    const total = sentBy.reduce((a, b) => a + b, 0);
    const lags = run.load.sent.flatMap((s) => (s.acceptedAt === undefined ? [] : [(arrivals.at.get(s.text) ?? Number.POSITIVE_INFINITY) - s.acceptedAt]));
    return [
      ...pids.flatMap((_, k) => [
        row(`sessions held by worker ${k + 1} after start (baseline: an even share)`, held[k]!, SPREAD_SESSIONS / pids.length, 'sessions', 'higher', null),
        row(`texts sent by worker ${k + 1} (baseline: an even share of all sent)`, sentBy[k]!, total / pids.length, 'texts', 'higher', null),
        row(`CPU of worker ${k + 1} over load + drain (baseline: the two workers' mean)`, cpuMs[k]! / spanMs, cpuMs.reduce((a, b) => a + b, 0) / pids.length / spanMs, 'cores', 'lower'),
      ]),
      row('texts at the phones per second during the load (baseline: offered)', run.achievedPerS, SPREAD_RATE, 'msg/s', 'higher'),
      row('lag p50, 202 → phone, whole load (∞: not at a phone by the drain limit)', percentile(lags, 0.5), percentile(lags, 0.5), 'ms', 'lower', null),
      row('lag p99, 202 → phone, whole load (∞: not at a phone by the drain limit)', percentile(lags, 0.99), percentile(lags, 0.99), 'ms', 'lower', null),
    ];
  } finally {
    arrivals.stop();
    await rig.close();
  }
}

async function measure(): Promise<Row[]> {
  checkWholeNumbers({ BENCH_SESSIONS: SESSIONS, BENCH_SUSTAIN_SECONDS: SUSTAIN_S, BENCH_SPREAD_SESSIONS: SPREAD_SESSIONS, BENCH_SPREAD_RATE: SPREAD_RATE, BENCH_SPREAD_SECONDS: SPREAD_S, BENCH_DRAIN_SECONDS: DRAIN_LIMIT_S });
  const phases = { sustain, spread };
  const unknown = PHASES.filter((p) => !(p in phases));
  if (unknown.length) throw new Error(`BENCH_FLEET_PHASES: unknown phase ${unknown.join(', ')} (sustain, spread)`);
  if (!['together', 'staggered'].includes(SPREAD_START)) throw new Error(`BENCH_SPREAD_START="${SPREAD_START}" must be together or staggered`);
  const rows: Row[] = [];
  for (const phase of PHASES) rows.push(...(await phases[phase as keyof typeof phases]()));
  return rows;
}

export default (): Promise<Row[]> => rowsFromChild(import.meta.filename, 'fleet-load', 60 * 60_000);

if (import.meta.main) await serveRows(measure);
