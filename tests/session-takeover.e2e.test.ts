import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openTestCoordination } from './helpers/coordination.ts';
import { stopProcess, useProcessFleet, type PlatformProcess } from './helpers/processes.ts';
import { jidsOf, killHolderMidSend, linkDevice, startApi, startWorker, type Api } from './helpers/takeover.ts';
import { until } from './helpers/wait.ts';

// A session moved to another worker by SIGKILL (real processes: an API and two workers) goes on sending soon after
// its lease lapses, and re-keys nothing it had in storage: its Signal sessions (with its contacts, and with its own
// account's phone) are in PostgreSQL and the device lists Baileys keeps beside them in the coordination store, so
// the simulator hands out no pre-key bundle for them — no contact's one-time pre-key is used up, no contact sees a
// new session. The one exception is the chat a send was cut off in (src/workers/sessions/send-window.ts): its stored
// session may be a step behind, and it gets one fresh session.
const LEASE_TTL_MS = 3000;
const SCAN_MS = 300;
// The lease lapses within its TTL of the kill and the next scan claims it; the rest (a login from stored creds and
// one send, well under a second on a quiet machine) gets room for a busy one. Before the new holder stopped holding
// its writes behind Baileys' login buffer and started sending the moment it connected, this took ~10 s.
const BOUND_MS = LEASE_TTL_MS + SCAN_MS + 6000;
const fleet = useProcessFleet({
  SESSION_LEASE_TTL: `${LEASE_TTL_MS}ms`,
  SESSION_SCAN_INTERVAL: `${SCAN_MS}ms`,
  SEND_MIN_INTERVAL: '200ms',
  SEND_JITTER: '0',
  LOG_LEVEL: 'warn',
});

const rig = { ...fleet, get databaseUrl() { return fleet.resources.databaseUrl; } };
// One API, and workers any of which may hold any device: both tests share them.
let api: Api;
const workers: PlatformProcess[] = [];
const fleetUp = async () => {
  api ??= await startApi(rig);
  while (workers.length < 2) workers.push(await startWorker(rig));
};

test('after a SIGKILL takeover the first message goes within the lease TTL and a few seconds, re-keying nothing in storage', { timeout: 240_000 }, async () => {
  await fleetUp();
  const device = await linkDevice(rig, api, '6281600000001', '6281600000002', '6281600000003');
  const inStorage = new Set([...jidsOf(fleet.sim, device.number), ...jidsOf(fleet.sim, device.idleContact)]);
  const busy = new Set(jidsOf(fleet.sim, device.contact));

  for (const round of [1, 2]) {
    const takeover = await killHolderMidSend(rig, api, device, workers, `takeover ${round}`);
    const tookMs = takeover.firstAt - takeover.killedAt;
    assert.ok(tookMs <= BOUND_MS, `round ${round}: first text ${tookMs} ms after the SIGKILL (bound ${BOUND_MS} ms)`);
    assert.ok(takeover.connectingAt <= takeover.connectedAt && takeover.connectedAt <= takeover.firstAt + 1000, `round ${round}: connecting, connected, then sent`);
    const fetched = takeover.keyFetches.map((f) => f.of);
    assert.deepEqual(fetched.filter((jid) => inStorage.has(jid)), [], `round ${round}: no pre-key bundle for the idle contact or the own account`);
    assert.ok(fetched.every((jid) => busy.has(jid)) && fetched.length <= 1, `round ${round}: at most one, for the chat the kill cut a send off in (${fetched.join(', ')})`);
    // The next round's takeover needs a standby.
    workers.push(await startWorker(rig));
  }

  const inbox = fleet.sim.inbox(device.contact);
  for (const text of new Set(inbox.map((m) => m.text))) {
    assert.equal(new Set(inbox.filter((m) => m.text === text).map((m) => m.id)).size, 1, `${text} under one WhatsApp id`);
  }
  assert.equal(fleet.sim.overlaps.get(device.jid) ?? 0, 0, 'never two sockets of the device at once');
});

test('a send the old holder was cut off in: the next holder starts a fresh Signal session with that chat before sending', { timeout: 240_000 }, async () => {
  await fleetUp();
  const device = await linkDevice(rig, api, '6281600000011', '6281600000012', '6281600000013');
  const contactJid = `${device.contact}@s.whatsapp.net`;
  // As the holder leaves it when killed between writing a message and storing the ratchet step it took.
  const store = await openTestCoordination(fleet.resources);
  try {
    await store.coordination.set(`send-in-flight:${device.id}`, contactJid, 60_000);
    const pid = await fleet.leaseHolder(device.id);
    const holder = workers.find((w) => w.child.pid === pid);
    assert.ok(holder, `a worker holds device ${device.id}`);
    const killedAt = Date.now();
    await stopProcess(holder, 'SIGKILL');
    workers.splice(workers.indexOf(holder), 1);
    await until(async () => ((await fleet.leaseHolder(device.id)) !== pid && (await store.coordination.get(`send-in-flight:${device.id}`)) === undefined ? true : undefined), 'the session taken over, the mark used', 60_000);
    const fetched = fleet.sim.prekeys.fetches.filter((f) => f.by === device.jid && f.at >= killedAt);
    assert.deepEqual(fetched.map((f) => [f.of, f.reason]), [[`${fleet.sim.phones.get(device.contact)!.lid}@lid`, 'identity']]);
    await api('POST', '/api/whatsapp/send', { sessionId: device.sessionId, phoneNumber: device.contact, message: 'after the fresh session' });
    await until(() => (fleet.sim.inbox(device.contact).some((m) => m.text === 'after the fresh session') ? true : undefined), 'the next text opened by the phone', 60_000);
  } finally {
    await store.close();
  }
});
