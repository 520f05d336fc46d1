import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { after, before } from 'node:test';
import { WhatsAppSimulator } from '../../simulator/server.ts';
import { openTestCoordination, type Instance } from './coordination.ts';
import { backendEnv, createTestResources, TEST_BACKENDS, type TestResources } from './resources.ts';
import { until } from './wait.ts';

// The real entry point (`src/main.ts`, as `npm start` runs it) in child processes, for tests that restart or kill
// the platform.

export const PROCESS_ADMIN_TOKEN = 'process-admin-token';

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

export interface PlatformProcess {
  child: ChildProcess;
  output: () => string;
}

export function startPlatformProcess(resources: TestResources, env: Record<string, string>): PlatformProcess {
  const child = spawn(process.execPath, ['src/main.ts'], {
    env: {
      PATH: process.env.PATH,
      ...backendEnv(resources),
      // Tests send to many new contacts from new numbers; the send policy's own tests turn it on.
      SEND_POLICY: 'off',
      ADMIN_PASSWORD: 'process-test-password',
      ADMIN_TOKEN: PROCESS_ADMIN_TOKEN,
      LOG_LEVEL: 'info',
      // Not seed 004's 3001: test files run in parallel. A test that wants the port passes one of its own.
      WS_PORT: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return { child, output: () => output };
}

export async function stopProcess({ child }: PlatformProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill(signal);
  const [code] = await once(child, 'exit');
  return code as number | null;
}

// A process starting beside others on a busy machine (migrations, Baileys) can take a while. A process that exits
// meanwhile fails the wait at once, and either failure carries the process's own output.
export async function untilReady(base: string, started: PlatformProcess): Promise<void> {
  const exited = () => started.child.exitCode !== null || started.child.signalCode !== null;
  try {
    await until(async () => {
      if (exited()) throw new Error(`exited (${started.child.exitCode ?? started.child.signalCode})`);
      return (await fetch(`${base}/ready`).catch(() => undefined))?.status === 200 ? true : undefined;
    }, `${base}/ready`, 90_000);
  } catch (error) {
    throw new Error(`${base} not ready: ${(error as Error).message}\n--- its output ---\n${started.output().slice(-8000)}`);
  }
}

// An HTTP client of a platform process, as its administrator.
export function adminClient(base: string) {
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'x-admin-token': PROCESS_ADMIN_TOKEN, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as { data?: Record<string, any> } & Record<string, any> };
  };
}

export interface ProcessFleet {
  sim: WhatsAppSimulator;
  resources: TestResources;
  // Starts `src/main.ts` against the simulator, on the fleet's database and Redis prefix.
  start(env: Record<string, string>): PlatformProcess;
  // The pid of the process holding a device's session lease (its owner is `<host>:<pid>`).
  leaseHolder(deviceId: number): Promise<number | undefined>;
}

// A test file's WhatsApp simulator and platform processes, sharing one database and Redis prefix; every process
// still running is killed, and everything removed, after the file. Processes share a database, so the embedded
// mode (one process per data directory) has journeys of its own (tests/standalone/).
export function useProcessFleet(baseEnv: Record<string, string>): ProcessFleet {
  if (TEST_BACKENDS === 'embedded') throw new Error('a process fleet shares one database: run it with TEST_BACKENDS=redis or postgres');
  let coordination: Promise<Instance> | undefined;
  const running: PlatformProcess[] = [];
  let waUrl = '';
  // Baileys in the children trusts the simulator's media certificate as a deployment would: NODE_EXTRA_CA_CERTS.
  let caFile = '';
  const fleet = {
    sim: new WhatsAppSimulator(),
    resources: undefined as unknown as TestResources,
    start(env: Record<string, string>) {
      // Tests poll the API as fast as they like: the per-caller limits would answer 429 on a slow day.
      const unlimited = { RATE_LIMIT_STANDARD: '100000/1m', RATE_LIMIT_ADMIN: '100000/1m', RATE_LIMIT_SENDING: '100000/1m' };
      const started = startPlatformProcess(fleet.resources, { WA_WEBSOCKET_URL: waUrl, NODE_EXTRA_CA_CERTS: caFile, ...unlimited, ...baseEnv, ...env });
      running.push(started);
      return started;
    },
    async leaseHolder(deviceId: number) {
      // Opened once a process has created and migrated the database.
      coordination ??= openTestCoordination(fleet.resources);
      const holder = await (await coordination).coordination.leaseHolder(`device-${deviceId}`);
      return holder ? Number(holder.owner.split(':').at(-1)) : undefined;
    },
  };
  before(async () => {
    fleet.resources = createTestResources();
    const listening = await fleet.sim.listen();
    waUrl = listening.url;
    caFile = `${fleet.resources.dataDir}-simulator-ca.pem`;
    await writeFile(caFile, listening.caPem);
  });
  after(async () => {
    await Promise.all(running.map((p) => stopProcess(p, 'SIGKILL')));
    await fleet.sim.close();
    await (await coordination)?.close();
    await fleet.resources.cleanup();
    if (caFile) await rm(caFile, { force: true });
  });
  return fleet;
}

// An API process and one worker of a fleet, the API answering: where the crash tests start, before killing the worker.
export async function startApiAndWorker(fleet: Pick<ProcessFleet, 'start'>) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const api = async (method: string, path: string, body?: unknown) => (await adminClient(base)(method, path, body)).body;
  const apiProcess = fleet.start({ ROLE: 'api', PORT: String(port) });
  const worker = fleet.start({ ROLE: 'worker', PORT: String(await freePort()) });
  await untilReady(base, apiProcess);
  return { base, api, apiProcess, worker };
}
