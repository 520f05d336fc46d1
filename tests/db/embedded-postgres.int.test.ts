import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { createLogger } from '../../src/logger.ts';
import { until } from '../helpers/wait.ts';

const FIXTURE = new URL('fixtures/embedded-postgres-holder.ts', import.meta.url).pathname;
const logger = createLogger({ logLevel: 'silent' });

const start = (dataDir: string) => startEmbeddedPostgres({ dataDir, logger });

async function withDataDir(run: (dataDir: string) => Promise<void>): Promise<void> {
  // mkdtemp's 0700, as a checkout under /root or in a mktemp directory: run as root, the start must let the OS user
  // postgres through to its cluster.
  const root = await mkdtemp(join(tmpdir(), 'embedded-postgres-'));
  const dataDir = join(root, 'data');
  try {
    await run(dataDir);
  } finally {
    // A failed test may leave a postmaster behind; it must not outlive its deleted directory.
    const pid = await postmasterPid(dataDir).catch(() => undefined);
    if (pid && isRunning(pid)) process.kill(pid, 'SIGQUIT');
    await rm(root, { recursive: true, force: true });
  }
}

async function query<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function postmasterPid(dataDir: string): Promise<number> {
  return Number((await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
}

// A zombie (its parent gone, not reaped yet) still answers signals, but runs no more.
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX] /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

// The fixture: a process of its own that starts the embedded PostgreSQL (and holds it, unless told to exit).
async function startHolder(dataDir: string, ...args: string[]) {
  const holder = spawn(process.execPath, [FIXTURE, dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  holder.stderr.on('data', (chunk) => (errors += chunk));
  const [url] = (await Promise.race([
    once(createInterface({ input: holder.stdout }), 'line'),
    once(holder, 'exit').then(() => Promise.reject(new Error(`the holder exited before its URL:\n${errors}`))),
  ])) as [string];
  return { holder, url };
}

const systemIdentifier = async (url: string) =>
  (await query<{ id: string }>(url, 'select system_identifier::text as id from pg_control_system()'))[0]!.id;

test('first start: a cluster on 127.0.0.1 that answers queries, LISTEN/NOTIFY and advisory locks; its password file is its owner\'s alone', { timeout: 60_000 }, async () => {
  await withDataDir(async (dataDir) => {
    const postgres = await start(dataDir);
    try {
      const url = new URL(postgres.url);
      assert.equal(url.hostname, '127.0.0.1');
      assert.notEqual(url.port, '5432', "never the machine's own PostgreSQL's port");
      assert.equal(url.pathname, '/wa_platform');
      assert.match(postgres.version, /^18\./);
      const [settings] = await query(postgres.url, "select current_setting('listen_addresses') as listen, current_setting('fsync') as fsync");
      assert.deepEqual(settings, { listen: '127.0.0.1', fsync: 'on' });
      assert.equal((await stat(join(dataDir, 'postgres.password'))).mode & 0o777, 0o600);
      await assert.rejects(query(postgres.url.replace(/:[^:@/]+@/, ':wrong@'), 'select 1'), /password authentication failed/);

      const listener = new pg.Client(postgres.url);
      const other = new pg.Client(postgres.url);
      await Promise.all([listener.connect(), other.connect()]);
      try {
        await listener.query('listen wake');
        const notified = once(listener, 'notification');
        await other.query("select pg_notify('wake', 'up')");
        const [notification] = (await notified) as [pg.Notification];
        assert.deepEqual([notification.channel, notification.payload], ['wake', 'up']);

        await listener.query('select pg_advisory_lock(42)');
        assert.equal((await other.query('select pg_try_advisory_lock(42) as got')).rows[0].got, false, 'held by the other session');
        await listener.query('select pg_advisory_unlock(42)');
        assert.equal((await other.query('select pg_try_advisory_lock(42) as got')).rows[0].got, true);
      } finally {
        await Promise.all([listener.end(), other.end()]);
      }
    } finally {
      await postgres.stop();
    }
    await assert.rejects(query(postgres.url, 'select 1'), /ECONNREFUSED/, 'stop() returns once it no longer answers');
  });
});

test('a start after a stop reuses the cluster (no new initdb): a row survives', { timeout: 60_000 }, async () => {
  await withDataDir(async (dataDir) => {
    const first = await start(dataDir);
    const cluster = await systemIdentifier(first.url);
    await query(first.url, 'create table kept (note text)');
    await query(first.url, 'insert into kept values ($1)', ['before the stop']);
    await first.stop();

    const second = await start(dataDir);
    try {
      assert.equal(await systemIdentifier(second.url), cluster);
      assert.deepEqual(await query(second.url, 'select note from kept'), [{ note: 'before the stop' }]);
    } finally {
      await second.stop();
    }
  });
});

test('a second start on the same DATA_DIR while the first runs is refused, and the first keeps running', { timeout: 60_000 }, async () => {
  await withDataDir(async (dataDir) => {
    const first = await start(dataDir);
    try {
      await assert.rejects(start(dataDir), {
        message: `DATA_DIR ${dataDir} is in use by process ${process.pid}; the embedded mode runs one process; set DATABASE_URL to share a database between processes`,
      });
      assert.deepEqual(await query(first.url, 'select 1 as up'), [{ up: 1 }]);
    } finally {
      await first.stop();
    }
  });
});

test('a platform process killed with SIGKILL: while it lived its DATA_DIR was refused; its postmaster outlives it, and the next start shuts that down and keeps the data', { timeout: 120_000 }, async () => {
  await withDataDir(async (dataDir) => {
    const { holder, url } = await startHolder(dataDir);
    await query(url, 'create table kept (note text)');
    await query(url, 'insert into kept values ($1)', ['before the kill']);
    const orphan = await postmasterPid(dataDir);

    await assert.rejects(start(dataDir), { message: new RegExp(`^DATA_DIR ${dataDir} is in use by process ${holder.pid};`) });
    assert.deepEqual(await query(url, 'select 1 as up'), [{ up: 1 }], "the live process's PostgreSQL left alone");

    holder.kill('SIGKILL');
    await once(holder, 'exit');
    assert.ok(isRunning(orphan), 'the postmaster outlives the process that started it');

    const postgres = await start(dataDir);
    try {
      assert.equal(isRunning(orphan), false);
      assert.notEqual(await postmasterPid(dataDir), orphan);
      assert.deepEqual(await query(postgres.url, 'select note from kept'), [{ note: 'before the kill' }]);
    } finally {
      await postgres.stop();
    }
  });
});

test('a process that exits without stop() has its postmaster asked to shut down (not awaited)', { timeout: 60_000 }, async () => {
  await withDataDir(async (dataDir) => {
    await startHolder(dataDir, 'exit');
    const lockFile = join(dataDir, 'postgres', 'postmaster.pid');
    // Removed by the postmaster itself at the end of its shutdown.
    await until(() => readFile(lockFile).then(() => undefined, () => true), 'the postmaster to shut down');
    const postgres = await start(dataDir);
    await postgres.stop();
  });
});

test('a leftover postmaster.pid, of a postmaster that is gone or naming a pid another process now has, does not stop a start', { timeout: 60_000 }, async () => {
  await withDataDir(async (dataDir) => {
    const first = await start(dataDir);
    const lockFile = join(dataDir, 'postgres', 'postmaster.pid');
    const lock = await readFile(lockFile, 'utf8');
    await first.stop();

    // The postmaster that wrote it is gone (PostgreSQL itself sees that).
    await writeFile(lockFile, lock);
    const second = await start(dataDir);
    await second.stop();

    // After a reboot its pid may belong to anything. PostgreSQL takes a process of its own user that has it for a
    // live postmaster (one of another user it ignores).
    const { uid, gid } = await stat(join(dataDir, 'postgres'));
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore', uid, gid });
    try {
      await writeFile(lockFile, lock.replace(/^\d+/, String(stranger.pid)));
      const third = await start(dataDir);
      assert.ok(isRunning(stranger.pid!), 'the process with the pid is not touched');
      await third.stop();
    } finally {
      stranger.kill();
    }
  });
});

test("PostgreSQL's failure to start is one readable error with its own last log lines", { timeout: 60_000 }, async () => {
  await withDataDir(async (dataDir) => {
    await (await start(dataDir)).stop();
    await writeFile(join(dataDir, 'postgres', 'PG_VERSION'), '9\n');
    await assert.rejects(start(dataDir), (err: Error) => {
      assert.match(err.message, new RegExp(`^the embedded PostgreSQL in ${dataDir}/postgres did not start \\(exit code 1\\):\n`));
      assert.match(err.message, /FATAL: {2}database files are incompatible with server/);
      return true;
    });
  });
});
