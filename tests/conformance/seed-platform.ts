import { execFile } from 'node:child_process';
import { after, before } from 'node:test';
import { listenWsPort } from '../../src/api/ws-port.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';
import { trustSimulator } from '../simulator/harness.ts';

// The conformance suite runs the seeds' snippets as users copy them: curl commands through bash with the seeds'
// shell variables set in the environment, JavaScript as the same fetch/WebSocket calls against a listening
// platform. One platform per file; the file's tests share it in order, as a user working through the seed does.

// Seed 004's own token (`API_TOKEN=test123`, from the .env the seed talks about): the administrator's API token.
export const SEED_API_TOKEN = 'test123';

export interface SeedPlatform {
  sim: WhatsAppSimulator;
  platform: TestPlatform;
  // http://127.0.0.1:<port>, the seeds' `http://localhost:3000` (or seed 003's `:8080`).
  API_BASE: string;
  // ws://127.0.0.1:<port>, seed 004's `ws://localhost:3001` (its own WebSocket port).
  WS_BASE: string;
}

// Starts the simulator and the platform before the file's tests, with the seeds' credentials, and stops them after.
export function useSeedPlatform(env: Record<string, string>, ready: (seed: SeedPlatform) => void): void {
  const seed = {} as SeedPlatform;
  let wsPort: { close(): Promise<void> } | undefined;
  before(async () => {
    seed.sim = new WhatsAppSimulator();
    const { url, caPem } = await seed.sim.listen();
    trustSimulator(caPem);
    seed.platform = await startTestPlatform({
      WA_WEBSOCKET_URL: url,
      API_TOKEN: SEED_API_TOKEN,
      SESSION_SCAN_INTERVAL: '200ms',
      SESSION_LEASE_TTL: '3s',
      SEND_JITTER: '0',
      SEND_MIN_INTERVAL: '100ms',
      // The seeds' receivers run on this machine.
      ALLOW_PRIVATE_WEBHOOKS: 'true',
      ...env,
    });
    seed.API_BASE = await seed.platform.app.listen({ port: 0, host: '127.0.0.1' });
    const listening = await listenWsPort(seed.platform.app, 0, '127.0.0.1');
    wsPort = listening;
    seed.WS_BASE = `ws://127.0.0.1:${listening.port}`;
    ready(seed);
  });
  after(async () => {
    // The platform closes its WebSockets as it stops; the port they came in by closes once they are gone.
    await seed.platform?.close();
    await wsPort?.close();
    await seed.sim?.close();
  });
}

// Seed 004's curl snippets name `${API_BASE}`, `${API_TOKEN}`, `${USER_ID}`… as shell variables. Written as
// sh`…${API_BASE}…` with these markers, a snippet in a test reads exactly as in the seed (line continuations and
// quoting kept raw), and the variables are set through the environment when it runs.
const NAME = Symbol('shell variable');
export interface ShellVariable {
  [NAME]: string;
}
const variable = (name: string): ShellVariable => ({ [NAME]: name });
export const API_BASE = variable('API_BASE');
export const API_TOKEN = variable('API_TOKEN');
export const USER_ID = variable('USER_ID');
export const DEVICE_API_KEY = variable('DEVICE_API_KEY');
export const ADMIN_TOKEN = variable('ADMIN_TOKEN');

export function sh(strings: TemplateStringsArray, ...variables: ShellVariable[]): string {
  return strings.raw.reduce((text, part, i) => `${text}\${${variables[i - 1]![NAME]}}${part}`);
}

// Runs a snippet of shell commands (the seed's text, verbatim) with bash and the given variables in its
// environment; answers what it printed. curl is quiet about progress only when asked, so stderr is ignored.
export function shell(script: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], { env: { PATH: process.env.PATH, ...env }, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
      else resolve(stdout);
    });
  });
}

// A curl snippet that prints one JSON answer, parsed.
export async function curlJson(script: string, env: Record<string, string> = {}): Promise<any> {
  const out = await shell(script, env);
  try {
    return JSON.parse(out);
  } catch {
    throw new Error(`not JSON: ${out.slice(0, 2000)}`);
  }
}

// A snippet with several curl commands, one after another (each prints one JSON answer): each answer parsed.
export async function curlJsonEach(commands: string[], env: Record<string, string> = {}): Promise<any[]> {
  const answers = [];
  for (const command of commands) answers.push(await curlJson(command, env));
  return answers;
}

// The user's phone scans what the snippet displayed (the simulator stands in for WhatsApp on the phone).
export function scanWithPhone(sim: WhatsAppSimulator, qr: string, number: string): void {
  if (!sim.phones.has(number)) sim.createPhone(number);
  sim.scan(qr, number);
}

// A message the snippet's handler received, found by a predicate; fails naming what it waited for.
export const waitFor = <T>(items: T[], match: (item: T) => boolean, what: string, timeoutMs = 30_000) =>
  until(() => items.find(match), what, timeoutMs);

// A snippet's own promise (a socket closing, a handler running), failing after a while with what it waited for.
export function within<T>(promise: Promise<T>, what: string, timeoutMs = 40_000): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
