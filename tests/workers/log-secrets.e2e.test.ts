import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { EntityManager } from '@mikro-orm/postgresql';
import { openOrm } from '../../src/db/orm.ts';
import { sqlOf } from '../../src/events/event-store.ts';
import { loadAuthState } from '../../src/workers/sessions/auth-state.ts';
import { adminClient, freePort, PROCESS_ADMIN_TOKEN, stopProcess, untilReady, useProcessFleet, type PlatformProcess } from '../helpers/processes.ts';
import { startReceiver } from '../helpers/receivers.ts';
import { until } from '../helpers/wait.ts';

// No secret reaches a log, at LOG_LEVEL=debug (the worst case), through a device's whole life on real processes
// (an API and two workers): linking, messages both ways, a session takeover by the second worker, the contact
// reinstalling WhatsApp (libsignal replaces its session and, left alone, prints the old one, root and private keys
// included, with console.info), and a logout. Every byte either process wrote to stdout or stderr is searched for
// the device's key material, as the database holds it, and for every credential used.
const ENCRYPTION_KEY = randomBytes(32).toString('hex');
const API_TOKEN = `log-test-api-token-${randomBytes(8).toString('hex')}`;
const ADMIN_PASSWORD = 'process-test-password';
const WEBHOOK_SECRET = `whsec_log_test_${randomBytes(12).toString('hex')}`;
const RECEIVER_AUTH = `Bearer receiver-own-${randomBytes(12).toString('hex')}`;

const fleet = useProcessFleet({
  LOG_LEVEL: 'debug',
  ENCRYPTION_KEY,
  API_TOKEN,
  JWT_SECRET: `log-test-jwt-secret-${randomBytes(16).toString('hex')}`,
  ALLOW_PRIVATE_WEBHOOKS: 'true',
  SESSION_LEASE_TTL: '3000ms',
  SESSION_SCAN_INTERVAL: '300ms',
  SEND_JITTER: '0',
});

const DEVICE_NUMBER = '6281234567810';
const CONTACT_NUMBER = '6281234567811';

// The forms a byte string takes in a log line: base64 (BufferJSON, the stored records), hex, util.inspect's
// `<Buffer 0a 1b …>` and `Uint8Array(32) [ 10, 27, …`, and JSON's `{"type":"Buffer","data":[10,27,…`.
function formsOf(bytes: Buffer): string[] {
  const head = [...bytes.subarray(0, 8)];
  return [
    bytes.toString('base64'),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    head.map((b) => b.toString(16).padStart(2, '0')).join(' '),
    head.join(', '),
    head.join(','),
  ];
}

const b64 = (value: unknown) => Buffer.from(String(value), 'base64');

// The device's creds and Signal sessions as the worker stored them.
async function keyMaterialOf(em: EntityManager, deviceId: number): Promise<Map<string, Buffer>> {
  const { state } = await loadAuthState(em, deviceId, Buffer.from(ENCRYPTION_KEY, 'hex'), -1);
  const { creds } = state;
  const found = new Map<string, Buffer>([
    ['creds.noiseKey.private', Buffer.from(creds.noiseKey.private)],
    ['creds.signedIdentityKey.private', Buffer.from(creds.signedIdentityKey.private)],
    ['creds.signedPreKey.private', Buffer.from(creds.signedPreKey.keyPair.private)],
    ['creds.pairingEphemeralKeyPair.private', Buffer.from(creds.pairingEphemeralKeyPair.private)],
    ['creds.advSecretKey', b64(creds.advSecretKey)],
  ]);
  const rows = await sqlOf(em)("select key_id from session_keys where device_id = ? and type = 'session'", [deviceId]);
  const ids = rows.map((r) => String(r.key_id));
  assert.ok(ids.length, 'the device has Signal sessions');
  const sessions = await state.keys.get('session', ids);
  for (const [id, record] of Object.entries(sessions)) {
    const entries = Object.values((record as unknown as { _sessions: Record<string, any> })._sessions);
    for (const [n, entry] of entries.entries()) {
      found.set(`session ${id}#${n} rootKey`, b64(entry.currentRatchet.rootKey));
      found.set(`session ${id}#${n} ratchet privKey`, b64(entry.currentRatchet.ephemeralKeyPair.privKey));
      for (const [c, chain] of Object.values(entry._chains as Record<string, { chainKey: { key?: string } }>).entries()) {
        if (chain.chainKey.key) found.set(`session ${id}#${n} chain ${c}`, b64(chain.chainKey.key));
      }
    }
  }
  return found;
}

function assertAbsent(output: string, secrets: Map<string, Buffer | string>): void {
  for (const [name, secret] of secrets) {
    for (const form of typeof secret === 'string' ? [secret] : formsOf(secret)) {
      const at = output.indexOf(form);
      assert.equal(at, -1, `${name} is in the output (as ${form}): …${output.slice(Math.max(0, at - 300), at + 100)}…`);
    }
  }
}

test('a worker at LOG_LEVEL=debug prints no key material and no credential through a takeover, a session replacement and a logout', { timeout: 240_000 }, async () => {
  const receiver = await startReceiver();
  const orm = await openOrm(fleet.resources.databaseUrl);
  const processes: PlatformProcess[] = [];
  const start = (env: Record<string, string>) => {
    const started = fleet.start(env);
    processes.push(started);
    return started;
  };
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const admin = adminClient(base);
    const apiProcess = start({ ROLE: 'api', PORT: String(port) });
    const first = start({ ROLE: 'worker', PORT: String(await freePort()) });
    await untilReady(base, apiProcess);
    const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
      const res = await fetch(`${base}${path}`, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const events = async (deviceId: number, type: string) =>
      ((await admin('GET', `/api/whatsapp/events?deviceId=${deviceId}&types=${type}&limit=1000`)).body.data!.items as { id: number; data: Record<string, unknown> }[]) ?? [];

    // Every kind of credential, each used at least once (the JWT also as ?token=, which request lines carry).
    const login = await call('POST', '/api/auth/login', {}, { username: 'admin', password: ADMIN_PASSWORD });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const jwt = String(login.body.token);
    assert.equal((await call('GET', '/api/auth/verify', { authorization: `Bearer ${jwt}` })).status, 200);
    const stream = new AbortController();
    assert.equal((await fetch(`${base}/api/whatsapp/events/stream?token=${encodeURIComponent(jwt)}`, { signal: stream.signal })).status, 200);
    stream.abort();
    assert.equal((await call('GET', '/api/auth/verify', { authorization: `Bearer ${API_TOKEN}` })).status, 200);
    const hook = await admin('POST', '/api/whatsapp/webhooks', { url: receiver.url, events: ['message'], secret: WEBHOOK_SECRET, headers: { Authorization: RECEIVER_AUTH } });
    assert.equal(hook.status, 201, JSON.stringify(hook.body));

    const created = await admin('POST', '/api/whatsapp/devices', { userId: 'admin', alias: 'log-secrets' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const deviceId = Number(created.body.device.id);
    const deviceKey = String(created.body.device.apiKey);
    const [qr] = await until(async () => {
      const qrs = await events(deviceId, 'device.qr-issued');
      return qrs.length ? qrs : undefined;
    }, 'a QR');
    fleet.sim.createPhone(DEVICE_NUMBER);
    fleet.sim.createPhone(CONTACT_NUMBER);
    fleet.sim.scan(String(qr!.data.qr), DEVICE_NUMBER);
    const connectedAfter = async (after: number) =>
      until(async () => ((await events(deviceId, 'device.connected')).at(-1)?.id ?? 0) > after ? (await events(deviceId, 'device.connected')).at(-1)!.id : undefined, 'connected');
    const connected = await connectedAfter(0);

    const exchange = async (text: string) => {
      const sent = await call('POST', '/api/whatsapp/device/send', { 'x-device-api-key': deviceKey }, { phoneNumber: CONTACT_NUMBER, message: `${text} (out)` });
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      await until(() => (fleet.sim.inbox(CONTACT_NUMBER).some((m) => m.text === `${text} (out)`) ? true : undefined), `the contact received "${text}"`);
      await received(`${text} (in)`);
    };
    const received = async (text: string) => {
      fleet.sim.sendFromPhone(CONTACT_NUMBER, DEVICE_NUMBER, text);
      await until(async () => ((await events(deviceId, 'message.received')).some((e) => e.data.text === text) ? true : undefined), `the device received "${text}"`);
    };
    await exchange('before the takeover');
    await until(() => (receiver.requests.length ? true : undefined), 'a webhook delivery');

    // The second worker takes the session over from the first, killed.
    const second = start({ ROLE: 'worker', PORT: String(await freePort()) });
    await until(async () => ((await fetch(`${base}/ready`)).ok ? true : undefined), 'ready');
    const holder = await fleet.leaseHolder(deviceId);
    const [victim, survivor] = holder === first.child.pid ? [first, second] : [second, first];
    await stopProcess(victim, 'SIGKILL');
    await until(async () => ((await fleet.leaseHolder(deviceId)) === survivor.child.pid ? true : undefined), 'the session taken over', 60_000);
    await connectedAfter(connected);
    await exchange('after the takeover');

    // The contact reinstalls WhatsApp: its next message opens a new Signal session, which replaces the device's.
    fleet.sim.reinstall(CONTACT_NUMBER);
    await received('after reinstalling');

    const keyMaterial = await keyMaterialOf(orm.em.fork() as EntityManager, deviceId);

    assert.equal((await admin('POST', `/api/whatsapp/devices/${deviceId}/logout`)).status, 200);
    await until(async () => ((await events(deviceId, 'device.logged-out')).length ? true : undefined), 'logged out');
    for (const running of [apiProcess, survivor]) assert.equal(await stopProcess(running), 0, running.output().slice(-3000));

    const output = processes.map((p) => p.output()).join('\n');
    // What the test is about happened in the workers, and is there to search.
    assert.match(output, /Closing open session in favor of incoming prekey bundle/, 'libsignal replaced the session');
    assert.match(output, /incoming request/, 'request lines are logged');
    assertAbsent(output, keyMaterial);
    assertAbsent(
      output,
      new Map<string, string>([
        ['the admin token', PROCESS_ADMIN_TOKEN],
        ['the admin password', ADMIN_PASSWORD],
        ['the API token', API_TOKEN],
        ['the JWT', jwt],
        ['the JWT signature', jwt.split('.')[2]!],
        ['the device API key', deviceKey],
        ['the webhook secret', WEBHOOK_SECRET],
        ['the receiver’s own auth header', RECEIVER_AUTH],
      ]),
    );
    assert.doesNotMatch(output, /SessionEntry \{|currentRatchet|rootKey|privKey|_chains/, 'no Signal session record is printed');
  } finally {
    await orm.close();
    await receiver.close();
  }
});
