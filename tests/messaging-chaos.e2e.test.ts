import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { adminClient, freePort, stopProcess, untilReady, useProcessFleet } from './helpers/processes.ts';
import { until } from './helpers/wait.ts';

// 500 messages across 5 sessions through real processes (an API and two workers) while the simulator drops
// sockets and a worker holding sessions is SIGKILLed twice: every message reaches its contact, under one WhatsApp
// id, and every status ends `read` — nothing lost, nothing left queued.
const SESSIONS = 5;
const PER_SESSION = 100;
const fleet = useProcessFleet({
  SESSION_LEASE_TTL: '3s',
  SESSION_SCAN_INTERVAL: '300ms',
  SEND_MIN_INTERVAL: '40ms',
  SEND_JITTER: '0',
  LOG_LEVEL: 'warn',
});
const { sim, start, leaseHolder } = fleet;

test('500 messages, 5 sessions, dropped sockets and two SIGKILLed workers: each reaches its contact once, each ends read', { timeout: 240_000 }, async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const client = adminClient(base);
  const api = async (method: string, path: string, body?: unknown) => (await client(method, path, body)).body;
  const apiProcess = start({ ROLE: 'api', PORT: String(port) });
  const workers = [start({ ROLE: 'worker', PORT: String(await freePort()) }), start({ ROLE: 'worker', PORT: String(await freePort()) })];
  await untilReady(base, apiProcess);

  const devices: { id: number; sessionId: string; number: string; contact: string; jid: string }[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const number = `628140000000${i}`;
    const contact = `628150000000${i}`;
    sim.createPhone(number);
    sim.createPhone(contact);
    sim.setReceipts(contact, { policy: 'read', delayMs: 100 });
    const { device } = await api('POST', '/api/whatsapp/devices', { userId: 'admin', alias: `chaos-${i}` });
    const qr = await until(async () => (await api('GET', `/api/whatsapp/devices/${device.id}/qr`)).qr as string | undefined, `QR ${i}`);
    sim.scan(qr, number);
    await until(async () => ((await api('GET', `/api/whatsapp/devices/${device.id}`)).data?.status === 'connected' ? true : undefined), `device ${i} connected`);
    devices.push({ id: device.id, sessionId: device.sessionId, number, contact, jid: [...sim.devices.keys()].find((j) => j.startsWith(`${number}:`))! });
  }

  const chaos = (async () => {
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await pause(800);
    for (const d of devices.slice(0, 2)) sim.fault(d.jid, 'drop');
    for (const victimDevice of [devices[0]!, devices[3]!]) {
      await pause(1200);
      const pid = await leaseHolder(victimDevice.id);
      const holder = workers.find((w) => w.child.pid === pid && w.child.exitCode === null && w.child.signalCode === null);
      if (holder) {
        await stopProcess(holder, 'SIGKILL');
        workers.splice(workers.indexOf(holder), 1, start({ ROLE: 'worker', PORT: String(await freePort()) }));
      }
      await pause(600);
      for (const d of devices.slice(2)) sim.fault(d.jid, 'drop');
    }
  })();

  await Promise.all(
    devices.map(async (device) => {
      for (let n = 0; n < PER_SESSION; n++) {
        const text = `chaos ${device.number} #${n}`;
        const res = await api('POST', '/api/whatsapp/send', { sessionId: device.sessionId, phoneNumber: device.contact, message: text });
        assert.match(String(res.data?.messageId), /^msg_/, `${text} accepted`);
      }
    }),
  );
  await chaos;

  const db = new pg.Client({ connectionString: fleet.resources.databaseUrl });
  await db.connect();
  try {
    const counts = await until(
      async () => {
        const { rows } = await db.query(`select status, count(*)::int as n from message_status where direction = 'out' group by status`);
        const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
        return byStatus.read === SESSIONS * PER_SESSION ? byStatus : undefined;
      },
      'every message read',
      150_000,
    ).catch(async (err) => {
      const { rows } = await db.query(`select status, count(*)::int as n from message_status where direction = 'out' group by status`);
      const { rows: stuck } = await db.query(`select message_id, body, status, wa_message_id from message_status where direction = 'out' and status <> 'read' limit 10`);
      const atPhones = stuck.map((m) => ({ ...m, inbox: devices.flatMap((d) => sim.inbox(d.contact)).filter((e) => e.text === m.body).length }));
      const problems = sim.logs.filter((line) => /could not|error/i.test(line)).slice(0, 10);
      throw new Error(`${(err as Error).message}; statuses now ${JSON.stringify(rows)}; not read: ${JSON.stringify(atPhones)}; simulator: ${JSON.stringify(problems)}`);
    });
    assert.deepEqual(counts, { read: SESSIONS * PER_SESSION });
  } finally {
    await db.end();
  }

  // At the phones: every text arrived, and under a single WhatsApp id (a repeat after a crash between handing a
  // message over and recording it reuses the id, which WhatsApp clients show once).
  let repeats = 0;
  for (const device of devices) {
    const inbox = sim.inbox(device.contact);
    for (let n = 0; n < PER_SESSION; n++) {
      const text = `chaos ${device.number} #${n}`;
      const copies = inbox.filter((m) => m.text === text);
      assert.ok(copies.length >= 1, `${text} reached ${device.contact}`);
      assert.equal(new Set(copies.map((m) => m.id)).size, 1, `${text} under one id`);
      repeats += copies.length - 1;
    }
  }
  for (const device of devices) assert.equal(sim.overlaps.get(device.jid) ?? 0, 0, `no second socket for ${device.jid}`);
  console.log(`chaos: ${repeats} repeated deliveries of the same id`);
});
