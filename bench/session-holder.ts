// One side of bench/sessions.bench.ts in a process of its own, so that its RSS holds its own sessions and
// nothing else: the platform's session host (lease, fence, auth state in PostgreSQL, lifecycle events), started
// from the environment as the worker role starts it, or the raw component, bare Baileys sockets with in-memory
// auth. Each side loads its code and opens its connections before the first reading, so the growth it reports
// is what connecting the sessions cost.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { BufferJSON, type AuthenticationCreds, type SignalDataTypeMap, type WASocket } from '@whiskeysockets/baileys';
import { wallMs } from './stats.ts';

export type Side = 'platform' | 'baseline';

export interface Usage {
  rssBytes: number;
  heapUsedBytes: number;
  // User + system CPU of this process since it started.
  cpuMs: number;
}

// What a bare socket needs to log in again: the creds, and the last pre-key the creds point at (without it
// Baileys uploads fresh pre-keys at login, work the session host does not do).
export interface PairedSession {
  creds: AuthenticationCreds;
  preKeys: { [id: string]: SignalDataTypeMap['pre-key'] };
}

export type ToHolder = { type: 'connect'; paired?: string } | { type: 'measure' } | { type: 'cpu' } | { type: 'close' };
export type FromHolder =
  | { type: 'ready'; usage: Usage }
  | { type: 'started'; atMs: number }
  // Baseline only: every socket emitted connection 'open' (the platform's report is its device.connected events).
  | { type: 'opened'; atMs: number }
  | { type: 'usage'; usage: Usage }
  // CPU so far, read without the collections a usage reading runs.
  | { type: 'cpu'; cpuMs: number }
  | { type: 'failed'; message: string };

interface Holder {
  connect(paired: string | undefined): Promise<void>;
  close(): Promise<void>;
}

const send = (message: FromHolder) => process.send!(message);

async function usage(): Promise<Usage> {
  const gc = globalThis.gc;
  if (!gc) throw new Error('run with --expose-gc: RSS before a full collection measures garbage');
  // Several passes with turns of the loop between them, so finalizers and weak callbacks release what they hold.
  for (let i = 0; i < 3; i++) {
    gc();
    await yieldToLoop();
  }
  const { rss, heapUsed } = process.memoryUsage();
  const { user, system } = process.cpuUsage();
  return { rssBytes: rss, heapUsedBytes: heapUsed, cpuMs: (user + system) / 1000 };
}

async function platformSide(): Promise<Holder> {
  const [{ loadConfig }, { openOrm }, { openCoordination }, { createLogger }, { sqlOf }, { startSessionHost }] = await Promise.all([
    import('../src/config.ts'),
    import('../src/db/orm.ts'),
    import('../src/backends.ts'),
    import('../src/logger.ts'),
    import('../src/events/event-store.ts'),
    import('../src/workers/sessions/session-host.ts'),
  ]);
  const config = loadConfig(process.env);
  const orm = await openOrm(config.databaseUrl!);
  const logger = createLogger(config);
  const stores = await openCoordination(config, config.databaseUrl!, logger);
  await sqlOf(orm.em.fork())('select 1');
  let host: ReturnType<typeof startSessionHost> | undefined;
  return {
    async connect() {
      // The options src/platform.ts passes, from the same configuration.
      host = startSessionHost({
        orm,
        coordination: stores.coordination,
        queues: stores.queueBackend,
        waWebSocketUrl: config.waWebSocketUrl,
        encryptionKey: config.encryptionKey,
        logger,
        owner: `bench:${process.pid}`,
        leaseTtlMs: config.sessionLeaseTtlMs,
        scanMs: config.sessionScanMs,
      });
    },
    async close() {
      await host?.close();
      await stores.close();
      await orm.close();
    },
  };
}

async function baselineSide(): Promise<Holder> {
  const [{ openCompanion }, { memoryAuth }] = await Promise.all([import('../simulator/companion.ts'), import('../simulator/memory-auth.ts')]);
  const url = process.env.WA_WEBSOCKET_URL!;
  // Made before the first reading: memoryAuth() signs fresh creds (~16 ms of pure-JS curve25519 each) that the
  // paired creds replace, work no restore does. Only the empty key stores are kept.
  const stores = Array.from({ length: Number(process.env.BENCH_SESSIONS) }, () => memoryAuth().keys);
  const sockets: WASocket[] = [];
  return {
    async connect(paired) {
      const sessions = JSON.parse(paired ?? '[]', BufferJSON.reviver) as PairedSession[];
      await Promise.all(
        sessions.map(async ({ creds, preKeys }, i) => {
          const keys = stores[i]!;
          await keys.set({ 'pre-key': preKeys });
          sockets.push((await openCompanion(url, { creds, keys })).socket);
        }),
      );
      send({ type: 'opened', atMs: wallMs() });
    },
    async close() {
      for (const socket of sockets) socket.end(undefined);
    },
  };
}

async function handle(holder: Holder, message: ToHolder): Promise<void> {
  if (message.type === 'connect') {
    send({ type: 'started', atMs: wallMs() });
    await holder.connect(message.paired);
  } else if (message.type === 'measure') {
    send({ type: 'usage', usage: await usage() });
  } else if (message.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    send({ type: 'cpu', cpuMs: (user + system) / 1000 });
  } else {
    await holder.close();
    // Baileys leaves timers behind its ended sockets; the process has done its part.
    process.exit(0);
  }
}

if (import.meta.main) {
  const fail = (err: unknown) => {
    send({ type: 'failed', message: String((err as Error)?.stack ?? err) });
    process.exit(1);
  };
  try {
    const holder = process.argv[2] === 'platform' ? await platformSide() : await baselineSide();
    process.on('message', (message: ToHolder) => void handle(holder, message).catch(fail));
    send({ type: 'ready', usage: await usage() });
  } catch (err) {
    fail(err);
  }
}
