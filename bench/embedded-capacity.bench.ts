// How many WhatsApp sessions the embedded mode (its own PostgreSQL in DATA_DIR, queues and coordination in it, one
// process) holds comfortably on this machine. At each N of BENCH_CAPACITY_SESSIONS (default 50,100,200,400), in
// one run: devices are linked through the API until there are N, the platform restarts (all N restored from
// storage, as after a redeploy), every session sends one text every 10 s, staggered, for BENCH_CAPACITY_SECONDS
// (default 60) after a first unmeasured round, and N passes when
// - every text reaches its phone once, with p99 from asking (POST /send) to the phone under 1 s;
// - the platform's process (with the simulator, which runs in it) used under 0.75 of a core over the minute,
//   leaving room for bursts;
// - PostgreSQL's client connections peaked under half of its max_connections.
// Rows: each criterion's figure against its bound (ratio ≤ 1 passes), and the largest N that passed. The run stops
// at the first N that fails. Runs in a child process (child-run.ts); with the defaults it takes about 10 minutes.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { until } from '../tests/helpers/wait.ts';
import { rowsFromChild, serveRows } from './child-run.ts';
import { startMessagingFleet, type MessagingFleet } from './messaging-fleet.ts';
import { checkWholeNumbers, paced, settle } from './messaging-runs.ts';
import { cpuSteal, machineCpuMs, percentile, warnOnSteal } from './stats.ts';
import type { Row } from './types.ts';

const STEPS = (process.env.BENCH_CAPACITY_SESSIONS ?? '50,100,200,400').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_CAPACITY_SECONDS ?? 60);
const INTERVAL_MS = 10_000;
const P99_BOUND_MS = 1000;
const CORE_BOUND = 0.75;
const CONNECTION_SHARE_BOUND = 0.5;
const CONNECTIONS_POLL_MS = 1000;

interface Step {
  sessions: number;
  restoredS: number;
  latencies: number[];
  cores: number;
  machineCores: number;
  connections: number;
  maxConnections: number;
}

const sessionsOf = (n: number) => `${n} session${n === 1 ? '' : 's'}`;

async function withDatabase<T>(fleet: MessagingFleet, use: (db: pg.Client) => Promise<T>): Promise<T> {
  // A client per use: the embedded PostgreSQL may come back on another port after a restart.
  const db = new pg.Client({ connectionString: fleet.platform.databaseUrl });
  await db.connect();
  try {
    return await use(db);
  } finally {
    await db.end();
  }
}

// Seconds from the restart until every session reported device.connected again.
async function restore(fleet: MessagingFleet): Promise<number> {
  const mark = await withDatabase(fleet, async (db) => Number((await db.query('select coalesce(max(global_position), 0) as last from events')).rows[0].last));
  const startedAt = Date.now();
  await fleet.platform.restart();
  const sessions = fleet.platformSessions.length;
  await withDatabase(fleet, (db) =>
    until(
      async () => {
        const { rows } = await db.query(`select count(distinct device_id)::int as n from events where type = 'device.connected' and global_position > $1`, [mark]);
        return rows[0].n === sessions ? true : undefined;
      },
      `${sessionsOf(sessions)} restored`,
      60_000 + 500 * sessions,
    ),
  );
  return (Date.now() - startedAt) / 1000;
}

// The peak of PostgreSQL's client connections (this poller's own left out) while `run` runs, and max_connections.
async function peakConnections<T>(fleet: MessagingFleet, run: () => Promise<T>): Promise<{ result: T; peak: number; max: number }> {
  return withDatabase(fleet, async (db) => {
    const max = Number((await db.query('show max_connections')).rows[0].max_connections);
    let peak = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const { rows } = await db.query(`select count(*)::int - 1 as n from pg_stat_activity where backend_type = 'client backend'`);
        peak = Math.max(peak, rows[0].n);
        await sleep(CONNECTIONS_POLL_MS);
      }
    })();
    try {
      return { result: await run(), peak, max };
    } finally {
      polling = false;
      await poll;
    }
  });
}

async function step(fleet: MessagingFleet, sessions: number, delivered: number): Promise<Step> {
  const restoredS = await restore(fleet);
  // Signal sessions with the new contacts set up, and code paths warm, at the pace measured next.
  await paced(fleet, 'platform', `warm-up ${sessions}`, { perSession: 1, intervalMs: INTERVAL_MS });
  await settle(fleet, delivered + sessions);
  const cpu = process.cpuUsage();
  const machine = machineCpuMs();
  const startedAt = Date.now();
  const perSession = Math.round((SECONDS * 1000) / INTERVAL_MS);
  const { result, peak, max } = await peakConnections(fleet, () => paced(fleet, 'platform', `n${sessions}`, { perSession, intervalMs: INTERVAL_MS }));
  const wallMs = Date.now() - startedAt;
  const { user, system } = process.cpuUsage(cpu);
  await settle(fleet, delivered + sessions * (1 + perSession));
  return { sessions, restoredS, latencies: result.asked, cores: (user + system) / 1000 / wallMs, machineCores: machine() / wallMs, connections: peak, maxConnections: max };
}

const passes = (s: Step) => percentile(s.latencies, 0.99) < P99_BOUND_MS && s.cores < CORE_BOUND && s.connections < s.maxConnections * CONNECTION_SHARE_BOUND;

async function measure(): Promise<Row[]> {
  checkWholeNumbers({ BENCH_CAPACITY_SECONDS: SECONDS });
  if (!STEPS.every((n, i) => Number.isInteger(n) && n > 0 && n > (STEPS[i - 1] ?? 0))) {
    throw new Error(`BENCH_CAPACITY_SESSIONS="${process.env.BENCH_CAPACITY_SESSIONS}" must be increasing whole numbers ≥ 1, comma-separated`);
  }
  const fleet = await startMessagingFleet({ sessions: 0, bareSessions: 0, backends: 'embedded' });
  const steps: Step[] = [];
  try {
    const steal = cpuSteal();
    let delivered = 0;
    for (const sessions of STEPS) {
      console.error(`embedded-capacity: ${sessionsOf(sessions)}: linking, restarting, then one text each every ${INTERVAL_MS / 1000} s for ${SECONDS} s…`);
      // Linking is setup, not what is measured: a link that fails fails the benchmark.
      await fleet.addPlatformSessions(sessions - fleet.platformSessions.length);
      let result: Step;
      try {
        result = await step(fleet, sessions, delivered);
      } catch (err) {
        // Texts that never arrived (or a restore that never ended) fail this N, not the benchmark.
        console.error(`embedded-capacity: ${sessionsOf(sessions)} failed:`, err);
        break;
      }
      delivered += sessions * (1 + Math.round((SECONDS * 1000) / INTERVAL_MS));
      steps.push(result);
      const at = (p: number) => percentile(result.latencies, p).toFixed(0);
      console.error(
        `embedded-capacity: ${sessionsOf(sessions)}: restored in ${result.restoredS.toFixed(1)} s; p50 ${at(0.5)} ms, p99 ${at(0.99)} ms; ` +
          `${result.cores.toFixed(2)} core here, ${result.machineCores.toFixed(2)} on the machine; ${result.connections} of ${result.maxConnections} PostgreSQL connections`,
      );
      if (!passes(result)) break;
    }
    warnOnSteal('embedded-capacity', steal());
  } finally {
    await fleet.close();
  }
  const rows = steps.flatMap((s): Row[] => {
    const name = `embedded capacity: ${sessionsOf(s.sessions)}, one text each every ${INTERVAL_MS / 1000} s for ${SECONDS} s (baseline: the criterion's bound)`;
    const row = (metric: string, unit: string, platform: number, baseline: number): Row => ({ name, metric, platform, baseline, unit, ratio: platform / baseline, better: 'lower' });
    return [
      row('latency p99, asked (POST /send) → at the phone', 'ms', percentile(s.latencies, 0.99), P99_BOUND_MS),
      row('CPU of the platform process (with the simulator)', 'cores', s.cores, CORE_BOUND),
      row('PostgreSQL client connections, peak', 'connections', s.connections, s.maxConnections * CONNECTION_SHARE_BOUND),
    ];
  });
  const held = steps.filter(passes).at(-1)?.sessions ?? 0;
  return [
    ...rows,
    { name: 'embedded capacity', metric: `largest N meeting every bound (baseline: largest N tried of ${STEPS.join(', ')})`, platform: held, baseline: steps.at(-1)?.sessions ?? STEPS[0]!, unit: 'sessions', ratio: null, better: 'higher' },
  ];
}

export default (): Promise<Row[]> => rowsFromChild(import.meta.filename, 'embedded-capacity', 40 * 60_000);

if (import.meta.main) await serveRows(measure);
