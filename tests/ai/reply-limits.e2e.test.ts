import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sqlOf } from '../../src/events/event-store.ts';
import type { WhatsAppSimulator } from '../../simulator/server.ts';
import { startFakeLlm, type LlmCall } from '../helpers/fake-llm.ts';
import { ADMIN_TOKEN, bearer, createUser, type TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';
import { linkDevice, useLinkedPlatform, type LinkedDevice } from '../helpers/whatsapp.ts';

// The reply job's limits across the platform: model calls per device (AI_DEVICE_CONCURRENCY) and per provider
// (AI_PROVIDER_CONCURRENCY) at once, whichever worker runs them, and a call cut at AI_TIMEOUT and retried.

// Each device's rules name it, so the model sees whose call it answers; it counts calls in flight, each lasting a while.
const inFlight = new Map<string, number>();
const peaks = { all: 0, byDevice: new Map<string, number>() };
let now = 0;
const deviceOf = (call: LlmCall) => /device (\w+)/.exec(call.system ?? '')?.[1] ?? 'unknown';
const fake = await startFakeLlm({
  reply: async (call) => {
    const device = deviceOf(call);
    inFlight.set(device, (inFlight.get(device) ?? 0) + 1);
    now += 1;
    peaks.all = Math.max(peaks.all, now);
    peaks.byDevice.set(device, Math.max(peaks.byDevice.get(device) ?? 0, inFlight.get(device)!));
    await sleep(400);
    inFlight.set(device, inFlight.get(device)! - 1);
    now -= 1;
    return { text: `Answer: ${call.messages.findLast((m) => m.role === 'user')?.text ?? ''}` };
  },
});
after(() => fake.close());

let sim: WhatsAppSimulator;
let platform: TestPlatform;
let user: { id: number; username: string; token: string };
let first: LinkedDevice;
useLinkedPlatform(
  {
    SEND_MIN_INTERVAL: '1ms',
    OPENAI_API_KEY: fake.apiKey!,
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    AI_DEVICE_CONCURRENCY: '1',
    AI_PROVIDER_CONCURRENCY: '2',
    AI_CONCURRENCY: '10',
    AI_TIMEOUT: '1500ms',
    AI_ATTEMPTS: '2',
  },
  { username: 'limits', alias: 'alpha', number: '6281580000001' },
  (linked) => ({ sim, platform, user, device: first } = linked),
);

let contacts = 0;
const newContact = () => {
  const number = `62815899${String(++contacts).padStart(5, '0')}`;
  sim.createPhone(number);
  return number;
};
const answersAt = (number: string) =>
  sim
    .inbox(number)
    .filter((m) => m.text.startsWith('Answer: '))
    .map((m) => m.text);

async function aiOn(device: LinkedDevice, name: string, token = user.token) {
  const res = await platform.request({
    method: 'PUT',
    url: `/api/whatsapp/devices/${device.id}/settings/ai`,
    headers: bearer(token),
    payload: { aiEnabled: true, autoReply: true, provider: 'openai', model: 'gpt-4o-mini', debounceSeconds: 0, typing: false, customRules: [`You are device ${name}.`] },
  });
  assert.equal(res.statusCode, 200, res.body);
}

test('three devices, two chats each, all at once: one call per device and two per provider at a time, every chat answered once', { timeout: 180_000 }, async () => {
  const other = await createUser(platform, 'limits-two');
  const devices = [
    { device: first, name: 'alpha', token: user.token },
    { device: await linkDevice(platform, sim, user.token, 'beta', '6281580000002'), name: 'beta', token: user.token },
    { device: await linkDevice(platform, sim, other.token, 'gamma', '6281580000003'), name: 'gamma', token: other.token },
  ];
  for (const { device, name, token } of devices) await aiOn(device, name, token);
  const chats = devices.flatMap(({ device, name }) => [1, 2].map((i) => ({ device, contact: newContact(), text: `${name} question ${i}` })));
  for (const chat of chats) sim.sendFromPhone(chat.contact, chat.device.number, chat.text);

  for (const chat of chats) await until(() => (answersAt(chat.contact).length ? true : undefined), `an answer to "${chat.text}"`, 60_000);
  await sleep(1500);
  for (const chat of chats) assert.deepEqual(answersAt(chat.contact), [`Answer: ${chat.text}`]);
  assert.deepEqual(Object.fromEntries(peaks.byDevice), { alpha: 1, beta: 1, gamma: 1 }, 'one call per device at a time');
  assert.equal(peaks.all, 2, 'two calls at once across devices, never more');
});

test('a call past AI_TIMEOUT is cut and retried: one answer, the slow attempt logged as an error', { timeout: 60_000 }, async () => {
  const contact = newContact();
  fake.script({ delayMs: 4000 });
  sim.sendFromPhone(contact, first.number, 'are you slow?');
  await until(() => (answersAt(contact).length ? true : undefined), 'the answer after the retry', 30_000);
  const usage = await sqlOf(platform.app.orm.em.fork())(`select outcome, error, duration_ms from ai_usage_logs where chat_jid = ? order by id`, [`${contact}@s.whatsapp.net`]);
  assert.deepEqual(
    usage.map((u) => u.outcome),
    ['error', 'ok'],
  );
  assert.match(String(usage[0]!.error), /did not answer within 1500 ms/);
  assert.ok(Number(usage[0]!.duration_ms) >= 1400 && Number(usage[0]!.duration_ms) < 3500, `the slow attempt was cut near the timeout (${usage[0]!.duration_ms} ms)`);
  await sleep(1000);
  assert.deepEqual(answersAt(contact), ['Answer: are you slow?']);
});

test('a platform-wide cost limit stops every user’s replies, and each user it stops hears of it once', { timeout: 60_000 }, async () => {
  const admin = { 'x-admin-token': ADMIN_TOKEN };
  const limit = await platform.request({ method: 'PUT', url: '/api/whatsapp/admin/ai/cost-alerts', headers: admin, payload: { dailyLimit: 0 } });
  assert.equal(limit.statusCode, 200, limit.body);
  try {
    const sql = sqlOf(platform.app.orm.em.fork());
    const [beta] = await sql(`select id, user_id from devices where alias = 'beta'`);
    const [gamma] = await sql(`select id, user_id from devices where alias = 'gamma'`);
    const writers = [
      { deviceId: first.id, number: first.number, userId: user.id },
      { deviceId: Number(beta!.id), number: '6281580000002', userId: Number(beta!.user_id) },
      { deviceId: Number(gamma!.id), number: '6281580000003', userId: Number(gamma!.user_id) },
    ];
    for (const round of [1, 2]) {
      for (const w of writers) sim.sendFromPhone(newContact(), w.number, `over budget ${round}`);
      await until(
        async () => ((await sql(`select count(*)::int as n from events where type = 'ai.failed' and data->>'code' = 'AI_COST_LIMIT_EXCEEDED'`))[0]!.n === 3 * round ? true : undefined),
        `round ${round} refused`,
      );
    }
    const alerts = await sql(`select tenant_id, data from events where type = 'ai.cost-limit-reached' order by tenant_id`);
    assert.deepEqual(
      alerts.map((a) => Number(a.tenant_id)),
      [...new Set(writers.map((w) => w.userId))].sort((a, b) => a - b),
      'one alert per user stopped, though two of the three devices are one user’s and each wrote twice',
    );
    for (const { data } of alerts as { data: Record<string, unknown> }[]) assert.deepEqual([data.scope, data.period, data.threshold], ['platform', 'daily', 0]);
  } finally {
    await platform.request({ method: 'PUT', url: '/api/whatsapp/admin/ai/cost-alerts', headers: admin, payload: { dailyLimit: null } });
  }
});
