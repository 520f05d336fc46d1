import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminClient, freePort, untilReady, useProcessFleet } from './helpers/processes.ts';
import { until } from './helpers/wait.ts';

// The waits with the API and the worker in separate processes: nothing but the log and Redis connects them, so
// the creation answer's QR (the API wakes the worker's session host) and the 200 `sent` (the worker's ack, heard
// on the API's live feed) both cross a process boundary. The worker's scan interval is long: only the wake-up can
// bring the QR in time.
const fleet = useProcessFleet({ SESSION_LEASE_TTL: '3s', SESSION_SCAN_INTERVAL: '60s', SEND_JITTER: '0', SEND_MIN_INTERVAL: '50ms', LOG_LEVEL: 'warn', LOGIN_QR_WAIT: '10s' });
const { sim, start } = fleet;

test('ROLE=api and ROLE=worker apart: the creation answer carries the QR, and ?wait=sent answers 200 once the worker had the ack', { timeout: 180_000 }, async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const api = adminClient(base);
  const apiProcess = start({ ROLE: 'api', PORT: String(port) });
  // At info, so the test sees it start: a QR in the answer must come from the wake-up, not the first scan.
  const worker = start({ ROLE: 'worker', PORT: String(await freePort()), LOG_LEVEL: 'info' });
  await untilReady(base, apiProcess);
  await until(() => (/"role":"worker".*"msg":"platform started"/.test(worker.output()) ? true : undefined), 'the worker', 90_000);

  const phone = sim.createPhone('6281600000001');
  const contact = sim.createPhone('6281600000002');
  sim.setReceipts(contact.number, { policy: 'none', delayMs: 0 });
  const created = await api('POST', '/api/whatsapp/devices', { userId: 'admin', alias: 'apart' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(typeof created.body.qr, 'string', `a QR in the answer: ${JSON.stringify(created.body)}\n${worker.output().slice(-4000)}`);
  sim.scan(created.body.qr, phone.number);
  const { id, sessionId } = created.body.device;
  await until(async () => ((await api('GET', `/api/whatsapp/devices/${id}`)).body.data?.status === 'connected' ? true : undefined), 'connected');

  const sent = await api('POST', '/api/whatsapp/send?wait=sent', { sessionId, phoneNumber: contact.number, message: 'Across processes' });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  assert.deepEqual([sent.body.data!.status, sent.body.data!.timedOut], ['sent', false]);
  assert.ok(sim.inbox(contact.number).some((m) => m.text === 'Across processes'));
});
