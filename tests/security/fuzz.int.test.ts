import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { sqlOf } from '../../src/events/event-store.ts';
import { ADMIN, ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { fuzzUrl, inputArbitrary, type FuzzInput } from './arbitraries.ts';
import { errorShapeFault, operationsOf, STREAMING, type Operation } from './openapi.ts';
import { digestChange, digestOf, freshLogin, headersOf } from './tenants.ts';

// Property-based fuzzing of every operation of the OpenAPI document: path, query and body drawn from the route's own
// schemas (valid-ish and hostile, see arbitraries.ts), sent over HTTP with each credential the route takes. For every answer:
// no 5xx, every refusal in our error shape with a code, and a refusal changes nothing (the whole database's digest).
//
// Budget: FUZZ_RUNS runs per operation (40 by default; ~3,600 requests for the document's ~90 operations, about a
// minute on 2 cores), and at most FUZZ_TIME_PER_ROUTE ms per operation including shrinking a failure (8 s). The
// seed is random unless FUZZ_SEED is set, and printed with every failure so it can be replayed.
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const TIME_PER_ROUTE_MS = Number(process.env.FUZZ_TIME_PER_ROUTE ?? 8_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
// A route that does not answer within this is a finding as surely as a 500.
const ANSWER_WITHIN_MS = 15_000;

type Kind = 'jwt' | 'api-token' | 'device-key' | 'admin' | 'none';
const KIND_OF_SCHEME: Record<string, Kind> = { bearerAuth: 'jwt', apiToken: 'api-token', deviceApiKey: 'device-key' };

let platform: TestPlatform;
let base: string;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const carol = { username: 'carol', password: 'carol-password-1', id: 0, headers: {} as Record<Kind, Record<string, string>> };

// The API alone (ROLE=api): no session host or webhook worker writes behind the requests' backs, so a digest
// that moved was moved by the request.
before(async () => {
  platform = await startTestPlatform({ ROLE: 'api', LOGIN_QR_WAIT: '0', ALLOW_PRIVATE_WEBHOOKS: 'true' });
  base = await platform.app.listen({ port: 0, host: '127.0.0.1' });
  const created = await platform.request({ method: 'POST', url: '/api/whatsapp/admin/users', headers: { 'x-admin-token': ADMIN_TOKEN }, payload: { username: carol.username, password: carol.password } });
  assert.equal(created.statusCode, 201, created.body);
  carol.id = created.json().data.id;
  carol.headers = { none: {}, admin: { 'x-admin-token': ADMIN_TOKEN }, jwt: {}, 'api-token': {}, 'device-key': {} };
  await keepCarolSignedIn();
});
after(async () => {
  agent.destroy();
  await platform?.close();
});

const works = async (headers: Record<string, string>, role: string) => {
  if (!Object.keys(headers).length) return false;
  const res = await platform.request({ method: 'GET', url: '/api/auth/verify', headers });
  return res.statusCode === 200 && res.json().data.role === role;
};

// A fuzzed 2xx may have changed the fuzzer's own footing (carol disabled, demoted or promoted, her password, token
// or device gone, the administrator disabled): put it back, so the next runs test input, not a 401.
async function keepCarolSignedIn(): Promise<void> {
  const sql = sqlOf(platform.app.orm.em.fork());
  if (!(await works(carol.headers.admin, 'admin'))) await sql(`update users set disabled_at = null, role = 'admin' where username = ?`, [ADMIN.username]);
  if (!(await works(carol.headers.jwt, 'user'))) {
    const repaired = await platform.request({ method: 'PATCH', url: `/api/whatsapp/admin/users/${carol.id}`, headers: carol.headers.admin, payload: { disabled: false, role: 'user', password: carol.password } });
    assert.equal(repaired.statusCode, 200, repaired.body);
    carol.headers.jwt = headersOf('jwt', await freshLogin(platform, carol.id));
  }
  if (!(await works(carol.headers['api-token'], 'user'))) {
    const token = await platform.request({ method: 'POST', url: '/api/auth/api-tokens', headers: carol.headers.jwt, payload: { name: 'fuzzer' } });
    carol.headers['api-token'] = headersOf('api-token', token.json().data.token);
  }
  if (!(await works(carol.headers['device-key'], 'user'))) {
    const device = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers: carol.headers.jwt, payload: { alias: `fuzzer-${Date.now()}` } });
    assert.equal(device.statusCode, 201, device.body);
    carol.headers['device-key'] = headersOf('device-key', device.json().device.apiKey);
  }
}

// The credentials an operation takes: an administrator's for admin routes (a user is refused before any input is
// read), the fuzzer's others as the document lists them, none for public routes.
function kindsOf(operation: Operation): Kind[] {
  if (!operation.security.length) return ['none'];
  if (operation.security[0] === 'adminToken') return ['admin'];
  return [...new Set(operation.security.map((s) => KIND_OF_SCHEME[s]).filter((k): k is Kind => k !== undefined))];
}

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

// Over real HTTP, as clients send them: the request line byte for byte (no URL normalization), Node's HTTP parser
// and fastify's client-error handling in the way (431, 400 for a broken request line), which inject bypasses.
// A stream that opens does not end: its status and headers are read, and the body only of a refusal.
function answerTo(operation: Operation, input: FuzzInput, kind: Kind): Promise<Answer> {
  const { port } = new URL(base);
  const payload = input.body?.text;
  const headers = { ...carol.headers[kind], ...(input.body?.type ? { 'content-type': input.body.type } : {}), ...(payload !== undefined ? { 'content-length': String(Buffer.byteLength(payload)) } : {}) };
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method: operation.method, path: fuzzUrl(operation, input), headers, agent }, (res) => {
      const answer = { status: res.statusCode ?? 0, headers: res.headers as Record<string, unknown> };
      if (STREAMING.has(operation.name) && answer.status < 400) {
        request.destroy();
        return resolve({ ...answer, body: '' });
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ ...answer, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    request.on('error', reject);
    request.end(payload);
  });
}

const timed = <T>(promise: Promise<T>) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ANSWER_WITHIN_MS} ms`)), ANSWER_WITHIN_MS).unref())]);

const clip = (text: string) => (text.length > 400 ? `${JSON.stringify(text.slice(0, 400))}… (${text.length} characters)` : JSON.stringify(text));

class Finding extends Error {}

// Operations at least one run reached.
const covered = new Set<string>();

async function fuzz(operation: Operation): Promise<string | undefined> {
  const kinds = kindsOf(operation);
  // fast-check's time limit stops waiting for a run, not the run: the next operation waits for it to finish.
  let running: Promise<void> = Promise.resolve();
  const property = fc.asyncProperty(inputArbitrary(operation), fc.constantFrom(...kinds), (input, kind) => (running = run(operation, input, kind)));
  const details = await fc.check(property, { numRuns: RUNS, seed: SEED, interruptAfterTimeLimit: TIME_PER_ROUTE_MS, markInterruptAsFailure: false });
  await running.catch(() => {});
  if (details.numRuns > 0) covered.add(operation.name);
  if (!details.failed) return undefined;
  const error = details.errorInstance;
  const why = error instanceof Finding ? error.message : String((error as Error)?.stack ?? error);
  return `${operation.name} (seed ${details.seed}, path ${JSON.stringify(details.counterexamplePath)}, shrunk ${details.numShrinks} times)\n      ${why}`;
}

// One run: the answer, and what the database says about it.
async function run(operation: Operation, input: FuzzInput, kind: Kind): Promise<void> {
  const before = await digestOf(platform);
  const answer = await timed(answerTo(operation, input, kind)).catch((err: Error) => ({ status: 0, headers: {}, body: err.message }));
  const sent = `as ${kind}: ${operation.method} ${clip(fuzzUrl(operation, input))}${input.body ? ` ${input.body.type} ${clip(input.body.text)}` : ''}`;
  const got = `${answer.status} ${clip(answer.body)}`;
  if (answer.status === 0) throw new Finding(`${sent}\n      → ${answer.body}`);
  if (answer.status >= 500) throw new Finding(`${sent}\n      → a 5xx: ${got}`);
  if (answer.status >= 400) {
    const fault = errorShapeFault({ headers: answer.headers, body: answer.body } as never);
    if (fault) throw new Finding(`${sent}\n      → not our error shape (${fault}): ${got}`);
    const now = await digestOf(platform);
    if (now !== before) throw new Finding(`${sent}\n      → refused, yet the database changed (${digestChange(before, now)}): ${got}`);
  } else {
    await keepCarolSignedIn();
  }
}

test('every operation of the document, fuzzed from its schemas: no 5xx, every refusal ours, a refusal changes nothing', { timeout: 1_800_000 }, async () => {
  const operations = await operationsOf(platform);
  const findings: string[] = [];
  const started = Date.now();
  for (const operation of operations) {
    const finding = await fuzz(operation);
    if (finding) findings.push(finding);
  }
  console.log(`fuzz: ${covered.size} operations × ${RUNS} runs in ${Math.round((Date.now() - started) / 1000)} s, seed ${SEED}`);
  assert.equal(findings.length, 0, `${findings.length} operations failed:\n${findings.join('\n')}`);
  // Every operation of the document, streaming ones included (over real HTTP): the skip list is empty.
  assert.equal(covered.size, operations.length);
});
