import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { startFakeLlm, echoLastUserMessage } from '../helpers/fake-llm.ts';
import { freePort, startApiAndWorker, stopProcess, useProcessFleet } from '../helpers/processes.ts';
import { until } from '../helpers/wait.ts';

// An AI reply through a crash, in real processes (an API and a worker): the worker is SIGKILLed while the model is
// still answering; the job runs again on a new worker, and the contact gets exactly one reply.
const fake = await startFakeLlm({ reply: echoLastUserMessage });
after(() => fake.close());
const fleet = useProcessFleet({
  SESSION_LEASE_TTL: '3s',
  SESSION_SCAN_INTERVAL: '300ms',
  SEND_MIN_INTERVAL: '60ms',
  SEND_JITTER: '0',
  LOG_LEVEL: 'warn',
  OPENAI_API_KEY: fake.apiKey!,
  OPENAI_BASE_URL: fake.openaiBaseUrl,
});
const { sim, start } = fleet;

test('a worker SIGKILLed while the model answers: the reply job runs again elsewhere, and the contact gets one reply', { timeout: 240_000 }, async () => {
  const { base, api, apiProcess, worker } = await startApiAndWorker(fleet);

  const number = '6281650000001';
  const contact = '6281650000002';
  sim.createPhone(number);
  sim.createPhone(contact);
  const { device } = await api('POST', '/api/whatsapp/devices', { userId: 'admin', alias: 'ai-crash' });
  const qr = await until(async () => (await api('GET', `/api/whatsapp/devices/${device.id}/qr`)).qr as string | undefined, 'QR');
  sim.scan(qr, number);
  await until(async () => ((await api('GET', `/api/whatsapp/devices/${device.id}`)).data?.status === 'connected' ? true : undefined), 'connected');
  const set = await api('PUT', `/api/whatsapp/devices/${device.id}/settings/ai`, { aiEnabled: true, autoReply: true, provider: 'openai', model: 'gpt-4o-mini', debounceSeconds: 0.5, typing: false });
  assert.equal(set.success, true, JSON.stringify(set));

  // The first call hangs until the worker making it is gone; the next answers at once.
  fake.script({ hang: true });
  sim.sendFromPhone(contact, number, 'are you open today?');
  await until(() => (fake.requests.length >= 1 ? true : undefined), 'the model asked');
  await stopProcess(worker, 'SIGKILL');
  start({ ROLE: 'worker', PORT: String(await freePort()) });

  const replies = () => sim.inbox(contact).filter((m) => m.text === 'echo: are you open today?');
  // A stalled job is found after BullMQ's stall interval (30 s).
  await until(() => (replies().length ? true : undefined), 'the reply after the crash', 150_000);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.equal(replies().length, 1, 'exactly one reply');
  assert.equal(fake.requests.length, 2, 'the model was asked again, once');

  const db = new pg.Client({ connectionString: fleet.resources.databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query(`select type from events where type like 'ai.%' order by global_position`);
    assert.deepEqual(rows.map((r) => r.type), ['ai.reply-requested', 'ai.replied']);
    const { rows: sent } = await db.query(`select count(*)::int as n from message_status where direction = 'out' and chat_jid = $1`, [`${contact}@s.whatsapp.net`]);
    assert.equal(sent[0].n, 1);
  } finally {
    await db.end();
  }
});
