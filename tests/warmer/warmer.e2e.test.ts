import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WhatsAppSimulator } from '../../simulator/server.ts';
import { bearer, type TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';
import { linkDevice, useLinkedPlatform, type LinkedDevice } from '../helpers/whatsapp.ts';

// The warmer end to end: a user's new number (device A) warms up by conversations with the user's other number
// (device B, which answers the `user` side) and with a stranger's phone (bot side only), on a schedule compressed
// into seconds in Asia/Jakarta; the messages are read back at the simulated phones with their arrival times.

const TIME_ZONE = 'Asia/Jakarta';
const NEW_NUMBER = '6281570100001';
const OLD_NUMBER = '6281570100002';
const STRANGER = '6281570100009';
let sim: WhatsAppSimulator;
let platform: TestPlatform;
let user: { id: number; username: string; token: string };
let warmed: LinkedDevice;
useLinkedPlatform(
  // The send policy is another subject (its caps would pace a new number); here every send goes at once.
  { SEND_MIN_INTERVAL: '100ms', SEND_POLICY: 'off', WARMER_TIME_ZONE: TIME_ZONE },
  { username: 'warming-user', alias: 'new-number', number: NEW_NUMBER },
  (linked) => ({ sim, platform, user, device: warmed } = linked),
);

const call = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => {
  const res = await platform.request({ method, url, headers: bearer(user.token), ...(payload ? { payload } : {}) });
  return res.json();
};
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// A slot `inMs` from now, as the campaign's time zone writes its date and time.
function slotIn(inMs: number): { date: string; time: string } {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(
    new Date(Date.now() + inMs),
  );
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return { date: `${part('year')}-${part('month')}-${part('day')}`, time: `${part('hour')}:${part('minute')}:${part('second')}` };
}
// What a phone received from a number, in order of arrival.
const from = (phone: string, sender: string) => sim.inbox(phone).filter((m) => m.from.startsWith(sender) && m.text);
const texts = (phone: string, sender: string) => from(phone, sender).map((m) => m.text);

async function startCampaign(name: string, targets: string[], count: number, messages: object[], inMs = 4000): Promise<number> {
  const slot = slotIn(inMs);
  const made = await call('POST', '/api/warmer/campaigns', {
    name,
    deviceId: warmed.id,
    targetNumbers: targets.map((t) => `+${t}`),
    schedule: { startDate: slot.date, endDate: slot.date, timesPerDay: [{ time: slot.time, count }] },
    settings: { randomizeDelay: false, minDelay: 1, maxDelay: 1, naturalTyping: false },
    variables: { name: 'Sam' },
  });
  assert.equal(made.success, true, JSON.stringify(made));
  const id = made.data.id;
  assert.equal((await call('POST', `/api/warmer/campaigns/${id}/templates`, { name: `${name} script`, messages, variables: ['name'] })).success, true);
  const started = await call('PUT', `/api/warmer/campaigns/${id}`, { status: 'active' });
  assert.equal(started.data.status, 'active', JSON.stringify(started));
  return id;
}

let answering: LinkedDevice;
test('setup: the user’s second number, and a stranger', { timeout: 60_000 }, async () => {
  answering = await linkDevice(platform, sim, user.token, 'old-number', OLD_NUMBER);
  sim.createPhone(STRANGER);
  const devices = (await call('GET', '/api/warmer/devices')).data;
  assert.deepEqual(
    devices.map((d: { id: number; phoneNumber: string }) => [d.id, d.phoneNumber]),
    [
      [warmed.id, `+${NEW_NUMBER}`],
      [answering.id, `+${OLD_NUMBER}`],
    ],
  );
});

test('a compressed campaign: both sides with their delays at the own number, the bot side only at the stranger', { timeout: 120_000 }, async () => {
  const script = [
    { sender: 'bot', message: 'Hi {name}, long time!', delay: 500 },
    { sender: 'user', message: 'Hey! Good to hear from you', delay: 2000 },
    { sender: 'bot', message: 'Talk soon {name}', delay: 1500 },
  ];
  const id = await startCampaign('compressed', [OLD_NUMBER, STRANGER], 2, script);
  await until(async () => ((await call('GET', `/api/warmer/campaigns/${id}`)).data.status === 'completed' ? true : undefined), 'the campaign completed', 60_000);
  await until(() => (texts(STRANGER, NEW_NUMBER).length >= 2 ? true : undefined), 'the stranger’s messages');
  await settle(1500);

  assert.deepEqual(texts(OLD_NUMBER, NEW_NUMBER), ['Hi Sam, long time!', 'Talk soon Sam']);
  assert.deepEqual(texts(NEW_NUMBER, OLD_NUMBER), ['Hey! Good to hear from you']);
  assert.deepEqual(texts(STRANGER, NEW_NUMBER), ['Hi Sam, long time!', 'Talk soon Sam'], 'the stranger gets the bot side only');
  assert.deepEqual(texts(NEW_NUMBER, STRANGER), [], 'nothing is sent as the stranger');

  // The arrivals keep the script's delays (each within the send pipeline's own latency).
  const at = (entries: { receivedAt: number }[], i: number) => entries[i]!.receivedAt;
  const [hi, bye] = [at(from(OLD_NUMBER, NEW_NUMBER), 0), at(from(OLD_NUMBER, NEW_NUMBER), 1)];
  const answer = at(from(NEW_NUMBER, OLD_NUMBER), 0);
  const near = (gap: number, delay: number, what: string) => assert.ok(gap >= delay - 400 && gap <= delay + 2500, `${what}: ${gap} ms for a delay of ${delay}`);
  near(answer - hi, 2000, 'the answer after the greeting');
  near(bye - answer, 1500, 'the goodbye after the answer');
  const [strangerHi, strangerBye] = [at(from(STRANGER, NEW_NUMBER), 0), at(from(STRANGER, NEW_NUMBER), 1)];
  // The next conversation starts the 1 s gap after the last one ended; the skipped answer's delay still passes.
  near(strangerHi - bye, 1000 + 500, 'the second conversation after the first');
  near(strangerBye - strangerHi, 2000 + 1500, 'the goodbye after the skipped answer');

  const stats = (await call('GET', `/api/warmer/campaigns/${id}/stats`)).data;
  const { avgResponseTime, ...counts } = stats;
  assert.deepEqual(counts, { campaignId: id, totalSent: 5, totalSuccess: 5, totalFailed: 0, successRate: 100, conversationsStarted: 2, activeConversations: 0 });
  assert.ok(avgResponseTime >= 1500 && avgResponseTime <= 4500, `avgResponseTime ${avgResponseTime}`);

  const firstPage = (await call('GET', `/api/warmer/campaigns/${id}/logs?limit=3`)).data;
  const secondPage = (await call('GET', `/api/warmer/campaigns/${id}/logs?limit=3&cursor=${firstPage.nextCursor}`)).data;
  assert.equal(secondPage.nextCursor, null);
  const logs = [...firstPage.items, ...secondPage.items].reverse();
  assert.deepEqual(
    logs.map((l: { sender: string; from: string; to: string; message: string; status: string }) => [l.sender, l.from, l.to, l.message, l.status === 'failed']),
    [
      ['bot', `+${NEW_NUMBER}`, `+${OLD_NUMBER}`, 'Hi Sam, long time!', false],
      ['user', `+${OLD_NUMBER}`, `+${NEW_NUMBER}`, 'Hey! Good to hear from you', false],
      ['bot', `+${NEW_NUMBER}`, `+${OLD_NUMBER}`, 'Talk soon Sam', false],
      ['bot', `+${NEW_NUMBER}`, `+${STRANGER}`, 'Hi Sam, long time!', false],
      ['bot', `+${NEW_NUMBER}`, `+${STRANGER}`, 'Talk soon Sam', false],
    ],
  );
});

test('pause holds every further step; resume goes on from there without a repeat', { timeout: 120_000 }, async () => {
  const script = [
    { sender: 'bot', message: 'Ping one', delay: 300 },
    { sender: 'user', message: 'Pong one', delay: 2500 },
    { sender: 'bot', message: 'Ping two', delay: 1000 },
    { sender: 'user', message: 'Pong two', delay: 500 },
  ];
  const pings = () => texts(OLD_NUMBER, NEW_NUMBER).filter((t) => t.startsWith('Ping'));
  const pongs = () => texts(NEW_NUMBER, OLD_NUMBER).filter((t) => t.startsWith('Pong'));
  const id = await startCampaign('paused', [OLD_NUMBER], 2, script);
  await until(() => (pings().length ? true : undefined), 'the first ping', 30_000);
  assert.equal((await call('POST', `/api/warmer/campaigns/${id}/pause`)).data.status, 'paused');
  await settle(6000);
  assert.deepEqual([pings(), pongs()], [['Ping one'], []], 'nothing arrives while paused');
  const stats = (await call('GET', `/api/warmer/campaigns/${id}/stats`)).data;
  assert.deepEqual([stats.totalSent, stats.conversationsStarted, stats.activeConversations], [1, 1, 1]);

  assert.equal((await call('POST', `/api/warmer/campaigns/${id}/resume`)).data.status, 'active');
  await until(async () => ((await call('GET', `/api/warmer/campaigns/${id}`)).data.status === 'completed' ? true : undefined), 'the campaign completed', 60_000);
  await until(() => (pongs().length >= 4 ? true : undefined), 'the last pong');
  await settle(1500);
  assert.deepEqual(pings(), ['Ping one', 'Ping two', 'Ping one', 'Ping two']);
  assert.deepEqual(pongs(), ['Pong one', 'Pong two', 'Pong one', 'Pong two']);
  const done = (await call('GET', `/api/warmer/campaigns/${id}/stats`)).data;
  assert.deepEqual([done.totalSent, done.totalSuccess, done.conversationsStarted, done.activeConversations], [8, 8, 2, 0]);
});

test('stop ends it for good', { timeout: 60_000 }, async () => {
  const script = [
    { sender: 'bot', message: 'Stop test first', delay: 200 },
    { sender: 'bot', message: 'Stop test second', delay: 3000 },
  ];
  const sent = () => texts(OLD_NUMBER, NEW_NUMBER).filter((t) => t.startsWith('Stop test'));
  const id = await startCampaign('stopped', [OLD_NUMBER], 3, script);
  await until(() => (sent().length ? true : undefined), 'the first message', 30_000);
  assert.equal((await call('POST', `/api/warmer/campaigns/${id}/stop`)).data.status, 'stopped');
  await settle(5000);
  assert.deepEqual(sent(), ['Stop test first']);
  const resumed = await call('POST', `/api/warmer/campaigns/${id}/resume`);
  assert.equal(resumed.code, 'INVALID_CAMPAIGN_STATE');
  const stats = (await call('GET', `/api/warmer/campaigns/${id}/stats`)).data;
  assert.deepEqual([stats.totalSent, stats.conversationsStarted, stats.activeConversations], [1, 1, 0]);
});
