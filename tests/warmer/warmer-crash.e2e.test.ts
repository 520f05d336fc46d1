import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { freePort, startApiAndWorker, stopProcess, useProcessFleet } from '../helpers/processes.ts';
import { until } from '../helpers/wait.ts';

// A warm-up campaign through a crash, in real processes (an API and a worker): the worker is SIGKILLed in the middle
// of the campaign's conversations; a new worker takes over, and every step arrives at the phones exactly once, in
// order.
const fleet = useProcessFleet({
  SESSION_LEASE_TTL: '3s',
  SESSION_SCAN_INTERVAL: '300ms',
  SEND_MIN_INTERVAL: '60ms',
  SEND_JITTER: '0',
  SEND_POLICY: 'off',
  LOG_LEVEL: 'warn',
});
const { sim, start } = fleet;

test('a worker SIGKILLed mid-campaign: the new worker goes on, no step lost or repeated', { timeout: 280_000 }, async () => {
  const { base, api, apiProcess, worker } = await startApiAndWorker(fleet);

  const link = async (alias: string, number: string) => {
    sim.createPhone(number);
    const { device } = await api('POST', '/api/whatsapp/devices', { userId: 'warm-crash', alias });
    const qr = await until(async () => (await api('GET', `/api/whatsapp/devices/${device.id}/qr`)).qr as string | undefined, 'QR');
    sim.scan(qr, number);
    await until(async () => ((await api('GET', `/api/whatsapp/devices/${device.id}`)).data?.status === 'connected' ? true : undefined), `${alias} connected`);
    return device.id as number;
  };
  const warmedNumber = '6281660000001';
  const answeringNumber = '6281660000002';
  const warmed = await link('new-number', warmedNumber);
  await link('old-number', answeringNumber);

  const at = new Date(Date.now() + 6000).toISOString();
  const made = await api('POST', '/api/warmer/campaigns', {
    name: 'through a crash',
    deviceId: warmed,
    targetNumbers: [`+${answeringNumber}`],
    schedule: { startDate: at.slice(0, 10), endDate: at.slice(0, 10), timesPerDay: [{ time: at.slice(11, 19), count: 3 }] },
    settings: { randomizeDelay: false, minDelay: 1, maxDelay: 1, naturalTyping: false },
  });
  assert.equal(made.success, true, JSON.stringify(made));
  const id = made.data!.id;
  const messages = [1, 2, 3, 4].map((n) => ({ sender: n % 2 ? 'bot' : 'user', message: `Crash step ${n}`, delay: 1500 }));
  assert.equal((await api('POST', `/api/warmer/campaigns/${id}/templates`, { name: 'numbered', messages })).success, true);
  assert.equal((await api('POST', `/api/warmer/campaigns/${id}/resume`)).code, 'INVALID_CAMPAIGN_STATE');
  assert.equal((await api('PUT', `/api/warmer/campaigns/${id}`, { status: 'active' })).data!.status, 'active');

  const arrived = (phone: string, sender: string) => sim.inbox(phone).filter((m) => m.from.startsWith(sender) && m.text.startsWith('Crash step')).map((m) => m.text);
  const total = () => arrived(answeringNumber, warmedNumber).length + arrived(warmedNumber, answeringNumber).length;
  await until(() => (total() >= 5 ? true : undefined), 'the campaign under way', 60_000);
  await stopProcess(worker, 'SIGKILL');
  const atCrash = total();
  assert.ok(atCrash < 12, 'killed before the end');
  await new Promise((resolve) => setTimeout(resolve, 2000));
  start({ ROLE: 'worker', PORT: String(await freePort()) });

  // A step running at the kill is found after BullMQ's stall interval (30 s).
  await until(async () => ((await api('GET', `/api/warmer/campaigns/${id}`)).data!.status === 'completed' ? true : undefined), 'the campaign completed', 180_000);
  await until(() => (total() >= 12 ? true : undefined), 'the last messages', 60_000);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const three = <T>(items: T[]) => [...items, ...items, ...items];
  assert.deepEqual(arrived(answeringNumber, warmedNumber), three(['Crash step 1', 'Crash step 3']), 'the bot side, each once, in order');
  assert.deepEqual(arrived(warmedNumber, answeringNumber), three(['Crash step 2', 'Crash step 4']), 'the user side, each once, in order');

  const stats = (await api('GET', `/api/warmer/campaigns/${id}/stats`)).data!;
  assert.deepEqual([stats.totalSent, stats.totalFailed, stats.conversationsStarted, stats.activeConversations], [12, 0, 3, 0]);
  const db = new pg.Client({ connectionString: fleet.resources.databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query(`select data->>'conversationNo' as no, data->>'step' as step from events where type = 'warmer.step-sent' order by global_position`);
    assert.deepEqual(
      rows.map((r) => `${r.no}.${r.step}`),
      ['0', '1', '2'].flatMap((no) => ['0', '1', '2', '3'].map((step) => `${no}.${step}`)),
    );
  } finally {
    await db.end();
  }
});
