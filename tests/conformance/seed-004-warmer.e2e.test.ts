import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WhatsAppSimulator } from '../../simulator/server.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';
import { API_BASE, API_TOKEN, SEED_API_TOKEN, curlJson, scanWithPhone, sh, useSeedPlatform } from './seed-platform.ts';

// Seed 004's Warmer System, its 13 snippets as written, in the order a user works through them (the seed's own order
// deletes campaign 1 before giving it a script). The seed names device 1 and the targets +1234567890 and +0987654321:
// device 1 is linked first, and +1234567890 is a second device of the same user, which answers the `user` side. The
// seed's campaign runs from 2026-01-04: the platform's clock is set to a few seconds before its first slot (09:00
// UTC), as a deployment on that morning would be.
let sim: WhatsAppSimulator;
let platform: TestPlatform;
let base: string;
useSeedPlatform({}, (seed) => ({ sim, platform, API_BASE: base } = seed));
const env = () => ({ API_BASE: base, API_TOKEN: SEED_API_TOKEN });
const api = async (method: string, path: string, body?: unknown): Promise<any> =>
  (await fetch(`${base}${path}`, { method, headers: { 'X-API-Token': SEED_API_TOKEN, 'Content-Type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) })).json();

const WARMED = '6281100000009';
const ANSWERING = '1234567890';

test('setup: device 1 and the user’s second number linked', { timeout: 90_000 }, async () => {
  for (const [alias, number] of [
    ['my-business-phone', WARMED],
    ['second-phone', ANSWERING],
  ] as const) {
    const { device } = await api('POST', '/api/whatsapp/devices', { userId: 'test_user_123', alias });
    const qr = await until(async () => (await api('GET', `/api/whatsapp/devices/${device.id}/qr`)).qr as string | undefined, 'QR');
    scanWithPhone(sim, qr, number);
    await until(async () => ((await api('GET', `/api/whatsapp/devices/${device.id}`)).data.status === 'connected' ? true : undefined), `${alias} connected`);
  }
});

test('seed 004 › Warmer System › 1–3: a campaign created, listed, read', async () => {
  const created = await curlJson(
    sh`curl -X POST "${API_BASE}/api/warmer/campaigns" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "name": "New Number Warmup",
    "deviceId": 1,
    "targetNumbers": ["+1234567890", "+0987654321"],
    "schedule": {
      "startDate": "2026-01-04",
      "endDate": "2026-01-18",
      "timesPerDay": [
        { "time": "09:00", "count": 2 },
        { "time": "14:00", "count": 3 },
        { "time": "18:00", "count": 2 }
      ]
    },
    "settings": {
      "randomizeDelay": true,
      "minDelay": 300,
      "maxDelay": 900,
      "naturalTyping": true
    }
  }'`,
    env(),
  );
  assert.equal(created.success, true, JSON.stringify(created));
  assert.deepEqual([created.data.id, created.data.name, created.data.deviceId, created.data.status], [1, 'New Number Warmup', 1, 'draft']);
  assert.deepEqual(created.data.targetNumbers, ['+1234567890', '+0987654321']);
  assert.deepEqual(created.data.settings, { randomizeDelay: true, minDelay: 300, maxDelay: 900, naturalTyping: true });
  assert.equal(created.data.schedule.timesPerDay.length, 3);

  const all = await curlJson(
    sh`curl -X GET "${API_BASE}/api/warmer/campaigns" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.deepEqual(
    all.data.map((c: { id: number; name: string }) => [c.id, c.name]),
    [[1, 'New Number Warmup']],
  );
  const one = await curlJson(
    sh`curl -X GET "${API_BASE}/api/warmer/campaigns/1" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.deepEqual([one.success, one.data.id, one.data.status, one.data.templates], [true, 1, 'draft', []]);
});

test('seed 004 › Warmer System › 9, 12, 13: a conversation script, the devices, the default scripts', async () => {
  const script = await curlJson(
    sh`curl -X POST "${API_BASE}/api/warmer/campaigns/1/templates" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "name": "Product Inquiry",
    "messages": [
      {
        "sender": "bot",
        "message": "Hi! Are you interested in {productName}?",
        "delay": 1000
      },
      {
        "sender": "user",
        "message": "Yes, tell me more",
        "delay": 3000
      },
      {
        "sender": "bot",
        "message": "Great! It'\''s available for {price}. Would you like to order?",
        "delay": 2000
      }
    ],
    "variables": ["productName", "price"]
  }'`,
    env(),
  );
  assert.equal(script.success, true, JSON.stringify(script));
  assert.deepEqual([script.data.name, script.data.messages.length, script.data.variables], ['Product Inquiry', 3, ['productName', 'price']]);
  assert.equal(script.data.messages[2].message, "Great! It's available for {price}. Would you like to order?");

  const devices = await curlJson(
    sh`curl -X GET "${API_BASE}/api/warmer/devices" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.deepEqual(
    devices.data.map((d: { id: number; phoneNumber: string; status: string }) => [d.id, d.phoneNumber, d.status]),
    [
      [1, `+${WARMED}`, 'connected'],
      [2, `+${ANSWERING}`, 'connected'],
    ],
  );
  const defaults = await curlJson(
    sh`curl -X GET "${API_BASE}/api/warmer/templates/defaults" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(defaults.success, true);
  assert.ok(defaults.data.length >= 3);
  for (const field of ['name', 'messages', 'variables']) assert.ok(field in defaults.data[0], field);
});

test('seed 004 › Warmer System › 4, 10, 11: started, its first conversation held, stats and logs', { timeout: 60_000 }, async () => {
  platform.advance(Date.parse('2026-01-04T08:59:55Z') - platform.app.clock().getTime());
  const updated = await curlJson(
    sh`curl -X PUT "${API_BASE}/api/warmer/campaigns/1" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "name": "Updated Campaign",
    "status": "active"
  }'`,
    env(),
  );
  assert.equal(updated.success, true, JSON.stringify(updated));
  assert.deepEqual([updated.data.name, updated.data.status, updated.data.position], ['Updated Campaign', 'active', { day: 0, slot: 0, conversation: 0, step: 0, conversationNo: 0 }]);
  assert.equal(updated.data.nextStepAt, '2026-01-04T09:00:01.000Z');

  const fromWarmed = () => sim.inbox(ANSWERING).filter((m) => m.from.startsWith(WARMED)).map((m) => m.text);
  const fromAnswering = () => sim.inbox(WARMED).filter((m) => m.from.startsWith(ANSWERING)).map((m) => m.text);
  await until(() => (fromWarmed().length >= 2 ? true : undefined), 'the first conversation', 45_000);
  assert.equal(fromWarmed().length, 2);
  assert.match(fromWarmed()[0]!, /^Hi! Are you interested in .+\?$/);
  assert.match(fromWarmed()[1]!, /^Great! It's available for .+\. Would you like to order\?$/);
  assert.deepEqual(fromAnswering(), ['Yes, tell me more']);

  const statsOf = () =>
    curlJson(
      sh`curl -X GET "${API_BASE}/api/warmer/campaigns/1/stats" \
  -H "X-API-Token: ${API_TOKEN}"`,
      env(),
    );
  const stats = await until(async () => {
    const answer = await statsOf();
    return answer.data.totalSuccess === 3 ? answer : undefined;
  }, 'every message sent');
  assert.deepEqual(Object.keys(stats).sort(), ['data', 'success']);
  assert.deepEqual(Object.keys(stats.data), ['campaignId', 'totalSent', 'totalSuccess', 'totalFailed', 'successRate', 'avgResponseTime', 'conversationsStarted', 'activeConversations']);
  const { avgResponseTime, ...rest } = stats.data;
  assert.deepEqual(rest, { campaignId: 1, totalSent: 3, totalSuccess: 3, totalFailed: 0, successRate: 100, conversationsStarted: 1, activeConversations: 0 });
  // The answer's 3 s delay, less the typing shown before the question (naturalTyping), plus the answer's own.
  assert.ok(avgResponseTime >= 1000 && avgResponseTime <= 6000, `avgResponseTime ${avgResponseTime}`);

  const logs = await curlJson(
    sh`curl -X GET "${API_BASE}/api/warmer/campaigns/1/logs?limit=50" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(logs.success, true);
  assert.deepEqual(
    logs.data.items.map((l: { sender: string; from: string; to: string; script: string }) => [l.sender, l.from, l.to, l.script]),
    [
      ['bot', `+${WARMED}`, `+${ANSWERING}`, 'Product Inquiry'],
      ['user', `+${ANSWERING}`, `+${WARMED}`, 'Product Inquiry'],
      ['bot', `+${WARMED}`, `+${ANSWERING}`, 'Product Inquiry'],
    ],
  );
  assert.equal(logs.data.nextCursor, null);
});

test('seed 004 › Warmer System › 5–8: paused, resumed, stopped, deleted', async () => {
  const control = async (script: string) => curlJson(script, env());
  const paused = await control(sh`curl -X POST "${API_BASE}/api/warmer/campaigns/1/pause" \
  -H "X-API-Token: ${API_TOKEN}"`);
  assert.deepEqual([paused.success, paused.data.status], [true, 'paused'], JSON.stringify(paused));
  const resumed = await control(sh`curl -X POST "${API_BASE}/api/warmer/campaigns/1/resume" \
  -H "X-API-Token: ${API_TOKEN}"`);
  assert.deepEqual([resumed.success, resumed.data.status], [true, 'active']);
  const stopped = await control(sh`curl -X POST "${API_BASE}/api/warmer/campaigns/1/stop" \
  -H "X-API-Token: ${API_TOKEN}"`);
  assert.deepEqual([stopped.success, stopped.data.status], [true, 'stopped']);
  const deleted = await control(sh`curl -X DELETE "${API_BASE}/api/warmer/campaigns/1" \
  -H "X-API-Token: ${API_TOKEN}"`);
  assert.deepEqual(deleted, { success: true });
  const gone = await api('GET', '/api/warmer/campaigns/1');
  assert.deepEqual([gone.success, gone.code], [false, 'NOT_FOUND']);
});
