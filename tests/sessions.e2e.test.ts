import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminClient, freePort, stopProcess, untilReady, useProcessFleet } from './helpers/processes.ts';
import { until } from './helpers/wait.ts';

// WhatsApp sessions across real platform processes (`src/main.ts`) on the simulator: a restart brings paired
// sessions back without a QR, and when a worker is killed another one takes its sessions over within the lease
// time, never holding a second socket for a session at the same time.
const LEASE_TTL_MS = 3000;
const SCAN_MS = 300;

const { sim, start, leaseHolder } = useProcessFleet({ SESSION_LEASE_TTL: `${LEASE_TTL_MS}ms`, SESSION_SCAN_INTERVAL: `${SCAN_MS}ms` });
const client = adminClient;
type Client = ReturnType<typeof client>;

async function eventsOf(api: Client, deviceId: number, type: string) {
  const { body } = await api('GET', `/api/whatsapp/events?deviceId=${deviceId}&types=${type}&limit=1000`);
  return (body.data!.items as { id: number; data: Record<string, unknown> }[]) ?? [];
}

// Creates a device through the API and has a new simulated phone scan its first QR.
async function linkDevice(api: Client, alias: string, number: string): Promise<{ deviceId: number; jid: string }> {
  const created = await api('POST', '/api/whatsapp/devices', { userId: 'admin', alias });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const deviceId = Number((created.body.device as { id: number }).id);
  const [qr] = await until(async () => {
    const qrs = await eventsOf(api, deviceId, 'device.qr-issued');
    return qrs.length ? qrs : undefined;
  }, `a QR for ${alias}`);
  sim.createPhone(number);
  sim.scan(String(qr!.data.qr), number);
  await untilConnected(api, deviceId);
  return { deviceId, jid: [...sim.devices.keys()].find((j) => j.startsWith(`${number}:`))! };
}

const untilConnected = (api: Client, deviceId: number) =>
  until(async () => ((await api('GET', `/api/whatsapp/devices/${deviceId}`)).body.data?.status === 'connected' ? true : undefined), `device ${deviceId} connected`);

test('after the whole platform restarts, a paired session is connected again without a new QR', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const api = client(base);
  let platform = start({ PORT: String(port) });
  await untilReady(base, platform);
  const { deviceId, jid } = await linkDevice(api, 'restart', '6281234567400');
  const qrsBefore = (await eventsOf(api, deviceId, 'device.qr-issued')).length;
  assert.equal(await stopProcess(platform), 0, platform.output());

  platform = start({ PORT: String(port) });
  await untilReady(base, platform);
  const lastBefore = (await eventsOf(api, deviceId, 'device.disconnected')).at(-1);
  assert.equal(lastBefore?.data.reason, 'worker-stopped', 'the shutdown was reported');
  await until(async () => {
    const connected = await eventsOf(api, deviceId, 'device.connected');
    return (connected.at(-1)?.id ?? 0) > lastBefore!.id ? true : undefined;
  }, 'connected after the restart');
  await untilConnected(api, deviceId);
  assert.equal((await eventsOf(api, deviceId, 'device.qr-issued')).length, qrsBefore, 'no QR after the restart');
  assert.equal(sim.connectionsOf(jid).length, 1);
  assert.equal(await stopProcess(platform), 0, platform.output());
});

test('two workers: SIGKILL the one holding sessions → the other holds them within the lease time, never two sockets at once', { timeout: 180_000 }, async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const api = client(base);
  const apiProcess = start({ ROLE: 'api', PORT: String(port) });
  const workers = [start({ ROLE: 'worker', PORT: String(await freePort()) }), start({ ROLE: 'worker', PORT: String(await freePort()) })];
  await untilReady(base, apiProcess);
  const linked = [
    await linkDevice(api, 'takeover-1', '6281234567401'),
    await linkDevice(api, 'takeover-2', '6281234567402'),
    await linkDevice(api, 'takeover-3', '6281234567403'),
  ];

  const victimPid = (await leaseHolder(linked[0]!.deviceId))!;
  const victim = workers.find((w) => w.child.pid === victimPid)!;
  const survivor = workers.find((w) => w !== victim)!;
  assert.ok(victim, 'a worker of ours holds the first session');
  const victims = [];
  for (const device of linked) if ((await leaseHolder(device.deviceId)) === victimPid) victims.push(device);
  const connectedBefore = new Map<number, number>();
  for (const { deviceId } of linked) connectedBefore.set(deviceId, (await eventsOf(api, deviceId, 'device.connected')).at(-1)!.id);

  const killedAt = Date.now();
  await stopProcess(victim, 'SIGKILL');
  for (const { deviceId, jid } of victims) {
    await until(async () => ((await leaseHolder(deviceId)) === survivor.child.pid && sim.connectionsOf(jid).length === 1 ? true : undefined), `device ${deviceId} taken over`, 30_000);
    await until(async () => ((await eventsOf(api, deviceId, 'device.connected')).at(-1)!.id > connectedBefore.get(deviceId)! ? true : undefined), `device ${deviceId} reconnected`);
  }
  const takeoverMs = Date.now() - killedAt;
  // The lease must expire first; then the next scan takes it and Baileys logs in.
  assert.ok(takeoverMs < LEASE_TTL_MS + SCAN_MS + 5000, `taken over in ${takeoverMs} ms`);
  for (const { deviceId, jid } of linked) {
    assert.equal(await leaseHolder(deviceId), survivor.child.pid);
    assert.equal(sim.connectionsOf(jid).length, 1);
    assert.equal(sim.overlaps.get(jid) ?? 0, 0, `no second socket for ${jid}`);
    await untilConnected(api, deviceId);
  }
  assert.equal(await stopProcess(survivor), 0, survivor.output());
  assert.equal(await stopProcess(apiProcess), 0, apiProcess.output());
});
