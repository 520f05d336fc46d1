// WhatsApp sessions: memory per connected session, and the time to bring paired sessions back after a restart.
// N devices (BENCH_SESSIONS, default 100) are paired once through the simulator by the platform's session host.
// Then, round after round, each side connects all N from storage in a fresh process of its own: the platform's
// session host (lease, fence, auth state sealed in PostgreSQL, lifecycle events) as a restarted worker starts it,
// and the raw component, bare Baileys sockets logging in with the same creds from in-memory auth. The ratio is
// what our session machinery costs over Baileys itself, on this machine, in the same run.
import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { until } from '../tests/helpers/wait.ts';
import { pairFleet, type Fleet } from './session-fleet.ts';
import type { FromHolder, Side, ToHolder, Usage } from './session-holder.ts';
import { cpuSteal, percentile, wallMs, warnOnSteal } from './stats.ts';
import type { Row } from './types.ts';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 100);
// The host's first scan runs at start, so the interval only bounds how soon a session missed by it is retried.
const SCAN_INTERVAL = '1s';
const ROUNDS = 3;
// Baileys keeps working for a moment after 'open' (own LID mapping, device list), and so does the host.
const SETTLE_MS = 2000;
// Connected sessions left alone this long: what holding them costs (keep-alives, lease renewals, the host's scans).
const IDLE_MS = 10_000;
const POLL_MS = 10;
const MB = 2 ** 20;

interface Run {
  // Seconds from the start of connecting until the simulator had logged in every device, and until every
  // session was reported connected (device.connected in the log; Baileys' connection 'open').
  loggedInS: number;
  connectedS: number;
  before: Usage;
  after: Usage;
  // Share of one core the holding process used while its sessions sat idle.
  idleCores: number;
}

type Message<T extends FromHolder['type']> = Extract<FromHolder, { type: T }>;

function spawnHolder(side: Side, env: Record<string, string>) {
  const child = fork(new URL('./session-holder.ts', import.meta.url), [side], {
    env: { ...process.env, ...env, BENCH_SESSIONS: String(SESSIONS) },
    execArgv: [...process.execArgv, '--expose-gc'],
    // The host logs to stdout; the runner's stdout is the results table.
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  const inbox: FromHolder[] = [];
  let ended: string | undefined;
  child.on('message', (message) => inbox.push(message as FromHolder));
  child.on('exit', (code, signal) => (ended = `exited with ${code ?? signal}`));
  const take = <T extends FromHolder['type']>(type: T): Message<T> | undefined => {
    const failed = inbox.find((m) => m.type === 'failed');
    if (failed) throw new Error(`${side} holder failed: ${failed.message}`);
    const at = inbox.findIndex((m) => m.type === type);
    if (at >= 0) return inbox.splice(at, 1)[0] as Message<T>;
    if (ended) throw new Error(`${side} holder ${ended} before sending ${type}`);
    return undefined;
  };
  return {
    take,
    next: <T extends FromHolder['type']>(type: T, timeoutMs = 60_000) => until(() => take(type), `${side} holder: ${type}`, timeoutMs),
    send: (message: ToHolder) => child.send(message),
    exited: () => (ended ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve))),
    kill: () => ended || child.kill(),
  };
}

async function runSide(fleet: Fleet, side: Side): Promise<Run> {
  const holder = spawnHolder(side, fleet.env);
  try {
    const before = (await holder.next('ready')).usage;
    const mark = await fleet.lastPosition();
    holder.send(side === 'baseline' ? { type: 'connect', paired: fleet.paired } : { type: 'connect' });
    const { atMs: startedAt } = await holder.next('started');
    const deadline = wallMs() + 60_000 + 1000 * SESSIONS;
    let loggedInAt: number | undefined;
    let connectedAt: number | undefined;
    while (loggedInAt === undefined || connectedAt === undefined) {
      if (loggedInAt === undefined && fleet.jids.every((jid) => fleet.sim.connectionsOf(jid).length)) loggedInAt = wallMs();
      if (connectedAt === undefined && side === 'baseline') connectedAt = holder.take('opened')?.atMs;
      if (connectedAt === undefined && side === 'platform' && (await fleet.connectedSince(mark)) === SESSIONS) connectedAt = wallMs();
      if (wallMs() > deadline) {
        const loggedIn = fleet.jids.filter((jid) => fleet.sim.connectionsOf(jid).length).length;
        throw new Error(`${side}: after ${((wallMs() - startedAt) / 1000).toFixed(0)} s, ${loggedIn} of ${SESSIONS} sessions are logged in`);
      }
      await sleep(POLL_MS);
    }
    await sleep(SETTLE_MS);
    holder.send({ type: 'measure' });
    const after = (await holder.next('usage')).usage;
    holder.send({ type: 'cpu' });
    const idleFrom = (await holder.next('cpu')).cpuMs;
    await sleep(IDLE_MS);
    holder.send({ type: 'cpu' });
    const idleCores = ((await holder.next('cpu')).cpuMs - idleFrom) / IDLE_MS;
    holder.send({ type: 'close' });
    await holder.exited();
    // The next side logs in the same devices: a socket still open would be replaced (440) and skew both.
    await until(() => fleet.jids.every((jid) => !fleet.sim.connectionsOf(jid).length) || undefined, `${side}: sockets closed at the simulator`);
    return { loggedInS: (loggedInAt - startedAt) / 1000, connectedS: (connectedAt - startedAt) / 1000, before, after, idleCores };
  } finally {
    holder.kill();
  }
}

const overlaps = (fleet: Fleet) => [...fleet.sim.overlaps.values()].reduce((a, b) => a + b, 0);

export default async function sessions(): Promise<Row[]> {
  if (!Number.isInteger(SESSIONS) || SESSIONS < 1) throw new Error(`BENCH_SESSIONS="${process.env.BENCH_SESSIONS}" must be a whole number ≥ 1`);
  console.error(`sessions: pairing ${SESSIONS} devices through the simulator…`);
  const fleet = await pairFleet({ sessions: SESSIONS, scanInterval: SCAN_INTERVAL });
  try {
    const runs: Record<Side, Run[]> = { platform: [], baseline: [] };
    const [overlapsBefore, leaseAttemptsBefore] = [overlaps(fleet), await fleet.leaseAttempts()];
    const steal = cpuSteal();
    for (let n = 0; n < ROUNDS; n++) for (const side of ['baseline', 'platform'] as const) runs[side].push(await runSide(fleet, side));
    warnOnSteal('sessions', steal());

    const replaced = overlaps(fleet) - overlapsBefore;
    if (replaced) {
      console.error(`sessions: ${replaced} logins replaced a socket still open (440), so the sides did unlike work`);
      process.exitCode = 1;
    }
    // More than one try per session and round means scans overlapped (the interval is shorter than one scan).
    const tries = (await fleet.leaseAttempts()) - leaseAttemptsBefore;
    console.error(`sessions: the session host tried ${(tries / (ROUNDS * SESSIONS)).toFixed(2)} lease acquisitions per session and restart`);

    const median = (side: Side, pick: (r: Run) => number) => percentile(runs[side].map(pick), 0.5);
    const row = (name: string, metric: string, unit: string, pick: (r: Run) => number): Row => {
      const [p, b] = [median('platform', pick), median('baseline', pick)];
      return { name, metric, platform: p, baseline: b, unit, ratio: p / b, better: 'lower' };
    };
    const per100 = (bytes: number) => (bytes / MB / SESSIONS) * 100;
    const memory = `sessions ×${SESSIONS} memory (own process each): session host vs bare Baileys, in-memory auth`;
    const restore = `sessions ×${SESSIONS} restore after restart: fresh session host (scan ${SCAN_INTERVAL}) vs bare Baileys, same creds in memory`;
    return [
      row(memory, 'RSS growth per 100 connected sessions', 'MB', (r) => per100(r.after.rssBytes - r.before.rssBytes)),
      row(memory, 'V8 heap growth per 100 connected sessions', 'MB', (r) => per100(r.after.heapUsedBytes - r.before.heapUsedBytes)),
      row(restore, `all ${SESSIONS} logged in at WhatsApp (simulator)`, 's', (r) => r.loggedInS),
      row(restore, `all ${SESSIONS} reported connected (device.connected / 'open')`, 's', (r) => r.connectedS),
      row(restore, `CPU of the holding process per session (to connected + ${SETTLE_MS / 1000} s)`, 'ms', (r) => (r.after.cpuMs - r.before.cpuMs) / SESSIONS),
      row(`sessions ×${SESSIONS} held idle (own process each): session host vs bare Baileys`, `CPU of the holding process over ${IDLE_MS / 1000} s (share of one core)`, 'cores', (r) => r.idleCores),
    ];
  } finally {
    await fleet.close();
  }
}
