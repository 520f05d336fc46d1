import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sqlOf } from '../../src/events/event-store.ts';
import type { WhatsAppSimulator } from '../../simulator/server.ts';
import { bearer, type TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';
import { linkDevice, useLinkedPlatform, type LinkedDevice } from '../helpers/whatsapp.ts';

// The warmer is one more path the send policy governs: a new number's campaign counts against the day's cap like any
// send; the step the cap holds waits queued with its reason (the conversation waits for it), and goes on, once, in
// order, when the owner raises the cap.
const NEW_NUMBER = '6281571200001';
const OLD_NUMBER = '6281571200002';
let sim: WhatsAppSimulator;
let platform: TestPlatform;
let user: { id: number; username: string; token: string };
let warmed: LinkedDevice;
useLinkedPlatform(
  { SEND_POLICY: 'on', SEND_POLICY_RECHECK: '300ms', SEND_MIN_INTERVAL: '100ms' },
  { username: 'warming-carefully', alias: 'new-number', number: NEW_NUMBER },
  (linked) => ({ sim, platform, user, device: warmed } = linked),
);

const call = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
  (await platform.request({ method, url, headers: bearer(user.token), ...(payload ? { payload } : {}) })).json();
const texts = (phone: string, sender: string) => sim.inbox(phone).filter((m) => m.from.startsWith(sender) && m.text).map((m) => m.text);

test('a campaign under the daily cap: the third bot message waits with its reason, the conversation waits for it, and goes on once when the cap is raised', { timeout: 120_000 }, async () => {
  await linkDevice(platform, sim, user.token, 'old-number', OLD_NUMBER);
  assert.equal((await call('PUT', `/api/whatsapp/devices/${warmed.id}/send-policy`, { ramp: [2] })).data.today.dailyCap, 2);

  const at = new Date(Date.now() + 3000).toISOString();
  const made = await call('POST', '/api/warmer/campaigns', {
    name: 'under the cap',
    deviceId: warmed.id,
    targetNumbers: [`+${OLD_NUMBER}`],
    schedule: { startDate: at.slice(0, 10), endDate: at.slice(0, 10), timesPerDay: [{ time: at.slice(11, 19), count: 1 }] },
    settings: { randomizeDelay: false, minDelay: 1, maxDelay: 1, naturalTyping: false },
  });
  assert.equal(made.success, true, JSON.stringify(made));
  const id = made.data.id;
  const messages = [1, 2, 3, 4, 5, 6, 7].map((n) => ({ sender: n % 2 ? 'bot' : 'user', message: `Step ${n}`, delay: 300 }));
  assert.equal((await call('POST', `/api/warmer/campaigns/${id}/templates`, { name: 'seven steps', messages })).success, true);
  assert.equal((await call('PUT', `/api/warmer/campaigns/${id}`, { status: 'active' })).data.status, 'active');

  const sql = sqlOf(platform.app.orm.em.fork());
  const held = await until(async () => {
    const [row] = await sql(`select held_reason from message_status where device_id = ? and direction = 'out' and status = 'queued' and held_reason is not null`, [warmed.id]);
    return row ? String(row.held_reason) : undefined;
  }, 'the third bot message held', 30_000);
  assert.match(held, /2 sent today, the cap on day 1 of the warm-up is 2/);
  await sleep(1500);
  assert.deepEqual(texts(OLD_NUMBER, NEW_NUMBER), ['Step 1', 'Step 3']);
  assert.deepEqual(texts(NEW_NUMBER, OLD_NUMBER), ['Step 2', 'Step 4'], 'the answering side waits for nothing of ours');
  assert.equal((await call('GET', `/api/warmer/campaigns/${id}`)).data.status, 'active');
  const view = (await call('GET', `/api/whatsapp/devices/${warmed.id}/send-policy`)).data;
  assert.deepEqual([view.today.sent, view.heldMessages], [2, 1]);

  assert.equal((await call('PUT', `/api/whatsapp/devices/${warmed.id}/send-policy`, { ramp: [10] })).data.today.dailyCap, 10);
  await until(async () => ((await call('GET', `/api/warmer/campaigns/${id}`)).data.status === 'completed' ? true : undefined), 'the campaign completed', 30_000);
  await sleep(1000);
  assert.deepEqual(texts(OLD_NUMBER, NEW_NUMBER), ['Step 1', 'Step 3', 'Step 5', 'Step 7'], 'each once, in order');
  assert.deepEqual(texts(NEW_NUMBER, OLD_NUMBER), ['Step 2', 'Step 4', 'Step 6']);
  const { avgResponseTime: _, ...stats } = (await call('GET', `/api/warmer/campaigns/${id}/stats`)).data;
  assert.deepEqual(stats, { campaignId: id, totalSent: 7, totalSuccess: 7, totalFailed: 0, successRate: 100, conversationsStarted: 1, activeConversations: 0 });
  assert.equal((await call('GET', `/api/whatsapp/devices/${warmed.id}/send-policy`)).data.today.sent, 4, 'the warmer’s messages count as the day’s sends');
});
