import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bearer, type TestPlatform } from '../helpers/platform.ts';
import { openSse } from '../helpers/sse.ts';
import { until } from '../helpers/wait.ts';
import { useLinkedPlatform, type LinkedDevice } from '../helpers/whatsapp.ts';
import type { WhatsAppSimulator } from '../../simulator/server.ts';

// Bulk campaigns through the whole platform and the simulator.
let sim: WhatsAppSimulator;
let platform: TestPlatform;
let base: string;
let user: { id: number; token: string };
let device: LinkedDevice;
useLinkedPlatform({ SEND_MIN_INTERVAL: '150ms' }, { username: 'marketer', alias: 'promo', number: '6281600000001' }, (linked) => ({ sim, platform, base, user, device } = linked));

const post = (url: string, payload?: object) => platform.request({ method: 'POST', url, headers: bearer(user.token), ...(payload ? { payload } : {}) });
const campaign = async (id: string) => {
  const res = await platform.request({ method: 'GET', url: `/api/whatsapp/campaigns/${id}`, headers: bearer(user.token) });
  if (res.statusCode !== 200) throw new Error(`GET campaign ${id}: ${res.statusCode} ${res.body}`);
  return res.json().data;
};

test('a campaign: rows validated one by one, {variables} filled per recipient, progress and completion on SSE', { timeout: 90_000 }, async () => {
  const contacts = ['6281600000101', '6281600000102', '6281600000103'].map((n) => sim.createPhone(n).number);
  const events: { event: string; data: Record<string, unknown> }[] = [];
  const sse = await openSse(`${base}/api/whatsapp/events/stream?types=campaign.*`, bearer(user.token), (m) => events.push({ event: m.event!, data: JSON.parse(m.data).data }));
  const res = await post('/api/whatsapp/send/bulk', {
    sessionId: device.sessionId,
    name: 'spring sale',
    message: 'Hi {name}, {discount}% off today!',
    recipients: [
      { phoneNumber: contacts[0], variables: { name: 'Ana', discount: 20 } },
      { phoneNumber: 'not-a-number', variables: { name: 'X', discount: 1 } },
      { phoneNumber: contacts[1], variables: { name: 'Budi', discount: 15 } },
      { phoneNumber: contacts[2], message: 'A text of its own' },
      { phoneNumber: '6281600000104', variables: { name: 'No discount' } },
    ],
  });
  assert.equal(res.statusCode, 202, res.body);
  const { campaignId, total, accepted, rejected } = res.json().data;
  assert.match(campaignId, /^cmp_/);
  assert.deepEqual([total, accepted], [5, 3]);
  assert.deepEqual(rejected, [
    { index: 1, phoneNumber: 'not-a-number', error: 'INVALID_PHONE_NUMBER' },
    { index: 4, phoneNumber: '6281600000104', error: 'no value for {discount}' },
  ]);

  const done = await until(async () => {
    const c = await campaign(campaignId);
    return c.state === 'completed' && c.counts.read === 3 ? c : undefined;
  }, 'the campaign completed and read', 60_000);
  assert.equal(done.progress, 100);
  assert.equal(done.name, 'spring sale');
  assert.deepEqual(sim.inbox(contacts[0]!).map((m) => m.text), ['Hi Ana, 20% off today!']);
  assert.deepEqual(sim.inbox(contacts[1]!).map((m) => m.text), ['Hi Budi, 15% off today!']);
  assert.deepEqual(sim.inbox(contacts[2]!).map((m) => m.text), ['A text of its own']);
  await until(() => (events.some((e) => e.event === 'campaign.completed' && e.data.campaignId === campaignId) ? true : undefined), 'completion on SSE');
  const progressed = events.filter((e) => e.event === 'campaign.progressed' && e.data.campaignId === campaignId);
  assert.ok(progressed.length >= 1, 'progress on SSE');
  assert.equal(events[0]!.event, 'campaign.created');
  sse.abort();
});

test('pause holds a campaign, resume goes on, cancel withdraws what waits', { timeout: 90_000 }, async () => {
  const contact = sim.createPhone('6281600000105').number;
  const recipients = Array.from({ length: 40 }, (_, i) => ({ phoneNumber: contact, message: `step ${i}` }));
  const { campaignId } = (await post('/api/whatsapp/send/bulk', { sessionId: device.sessionId, recipients })).json().data;
  const arrived = () => sim.inbox(contact).filter((m) => m.text.startsWith('step ')).length;
  await until(() => (arrived() >= 3 ? true : undefined), 'a few sent');
  assert.equal((await post(`/api/whatsapp/campaigns/${campaignId}/pause`)).json().data.state, 'paused');
  await new Promise((resolve) => setTimeout(resolve, 600));
  const atPause = arrived();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(arrived(), atPause, 'nothing more while paused');

  assert.equal((await post(`/api/whatsapp/campaigns/${campaignId}/resume`)).json().data.state, 'running');
  await until(() => (arrived() >= atPause + 3 ? true : undefined), 'more after resume');
  const cancelled = (await post(`/api/whatsapp/campaigns/${campaignId}/cancel`)).json().data;
  assert.equal(cancelled.state, 'cancelled');
  const settled = await until(async () => {
    const c = await campaign(campaignId);
    return c.counts.queued === 0 ? c : undefined;
  }, 'nothing left waiting');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const sentCount = arrived();
  assert.ok(sentCount < 40, `cancelled before the end (${sentCount} sent)`);
  assert.equal(settled.counts.cancelled + (40 - settled.counts.cancelled), 40);
  assert.ok(settled.counts.cancelled >= 40 - sentCount - 1, JSON.stringify(settled.counts));
  assert.equal(arrived(), sentCount, 'nothing after the cancel');
  assert.equal((await post(`/api/whatsapp/campaigns/${campaignId}/resume`)).statusCode, 400, 'a cancelled campaign stays cancelled');
});

test('10,000 recipients in one request are accepted and queued; cancelling withdraws them all', { timeout: 120_000 }, async () => {
  // A session that is not running, so nothing goes out while we look.
  const idle = (await post('/api/sessions', { name: 'idle' })).json();
  const recipients = Array.from({ length: 10_000 }, (_, i) => ({ phoneNumber: `+62817${String(i).padStart(7, '0')}`, variables: { n: i } }));
  const res = await post('/api/whatsapp/send/bulk', { sessionId: idle.session_id, message: 'Number {n}', recipients });
  assert.equal(res.statusCode, 202, res.body.slice(0, 300));
  const { campaignId, accepted } = res.json().data;
  assert.equal(accepted, 10_000);
  await until(async () => ((await campaign(campaignId)).counts.queued === 10_000 ? true : undefined), 'all queued in the read model', 60_000);
  const cancelled = (await post(`/api/whatsapp/campaigns/${campaignId}/cancel`)).json().data;
  assert.equal(cancelled.state, 'cancelled');
  const final = await until(async () => {
    const c = await campaign(campaignId);
    return c.counts.cancelled === 10_000 ? c : undefined;
  }, 'all cancelled', 60_000);
  assert.equal(final.counts.queued, 0);
});
