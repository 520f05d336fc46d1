import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ADMIN_TOKEN as PLATFORM_ADMIN_TOKEN } from '../helpers/platform.ts';
import { echoLastUserMessage, startFakeLlm } from '../helpers/fake-llm.ts';
import { until } from '../helpers/wait.ts';
import type { WhatsAppSimulator } from '../../simulator/server.ts';
import { ADMIN_TOKEN, API_BASE, API_TOKEN, SEED_API_TOKEN, curlJson, scanWithPhone, sh, useSeedPlatform } from './seed-platform.ts';

// Seed 004's AI Features and the AI part of its Admin Operations, snippet by snippet, as written, against a platform
// whose `openai` provider (made from OPENAI_API_KEY) is a local server speaking the OpenAI wire format. The seed
// names device 1, models gpt-4 and gpt-3.5-turbo and the contact +1234567890: device 1 is linked first and the two
// models added by an administrator, as a deployment following the seed would have them.
// Not run: AI Features 6 ("Get Specific Chat Settings"), whose curl line embeds JavaScript
// (`${encodeURIComponent('+1234567890')}`) that bash rejects as a bad substitution; the same request is snippet 7's URL.
const fake = await startFakeLlm({ reply: echoLastUserMessage });
after(() => fake.close());
let sim: WhatsAppSimulator;
let base: string;
useSeedPlatform({ OPENAI_API_KEY: fake.apiKey!, OPENAI_BASE_URL: fake.openaiBaseUrl }, (seed) => ({ sim, API_BASE: base } = seed));
const env = () => ({ API_BASE: base, API_TOKEN: SEED_API_TOKEN, ADMIN_TOKEN: PLATFORM_ADMIN_TOKEN });
const api = async (method: string, path: string, body?: unknown): Promise<any> =>
  (await fetch(`${base}${path}`, { method, headers: { 'X-API-Token': SEED_API_TOKEN, 'X-Admin-Token': PLATFORM_ADMIN_TOKEN, 'Content-Type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) })).json();

test('setup: device 1 linked, the seed’s models offered', { timeout: 60_000 }, async () => {
  const { device } = await api('POST', '/api/whatsapp/devices', { userId: 'test_user_123', alias: 'my-business-phone' });
  assert.equal(device.id, 1);
  const qr = await until(async () => (await api('GET', '/api/whatsapp/devices/1/qr')).qr as string | undefined, 'QR');
  scanWithPhone(sim, qr, '6281100000009');
  await until(async () => ((await api('GET', '/api/whatsapp/devices/1')).data.status === 'connected' ? true : undefined), 'connected');
  const openai = (await api('GET', '/api/whatsapp/admin/ai/providers')).data.find((p: { name: string }) => p.name === 'openai');
  assert.equal(openai.id, 1);
  for (const name of ['gpt-4', 'gpt-3.5-turbo']) assert.equal((await api('POST', '/api/whatsapp/admin/ai/models', { name, providerId: 1, inputCost: 0.03, outputCost: 0.06 })).success, true);
});

test('seed 004 › AI Features › 1–4 (curl): settings read and changed, a test call, the providers', async () => {
  const settings = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/settings/ai" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(settings.success, true, JSON.stringify(settings));
  for (const field of ['aiEnabled', 'autoReply', 'provider', 'model', 'temperature', 'maxTokens', 'customRules']) assert.ok(field in settings.data, field);
  const updated = await curlJson(
    sh`curl -X PUT "${API_BASE}/api/whatsapp/devices/1/settings/ai" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "aiEnabled": true,
    "autoReply": true,
    "provider": "openai",
    "model": "gpt-4",
    "temperature": 0.8,
    "customRules": [
      "Be professional and friendly",
      "Focus on customer satisfaction",
      "Provide product recommendations"
    ]
  }'`,
    env(),
  );
  assert.equal(updated.success, true, JSON.stringify(updated));
  assert.deepEqual([updated.data.aiEnabled, updated.data.model, updated.data.temperature, updated.data.customRules.length], [true, 'gpt-4', 0.8, 3]);
  const tested = await curlJson(
    sh`curl -X POST "${API_BASE}/api/whatsapp/test-ai" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "provider": "openai",
    "model": "gpt-3.5-turbo",
    "prompt": "Hello, how can I help you?",
    "temperature": 0.7
  }'`,
    env(),
  );
  assert.equal(tested.success, true, JSON.stringify(tested));
  assert.equal(tested.data.response, 'echo: Hello, how can I help you?');
  assert.ok(tested.data.usage.inputTokens > 0);
  const providers = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/ai/providers" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  const openai = providers.data.find((p: { name: string }) => p.name === 'openai');
  assert.deepEqual([openai.id, openai.displayName, openai.status], [1, 'OpenAI', 'active']);
  assert.ok(openai.models.includes('gpt-4') && openai.models.includes('gpt-3.5-turbo'));
});

test('seed 004 › AI Features › 5, 7–11 (curl): chat settings, conversation, stats, memory, bulk update', { timeout: 60_000 }, async () => {
  // The contact writes first, so that there is a conversation to read.
  sim.createPhone('1234567890');
  sim.sendFromPhone('1234567890', '6281100000009', 'Do you have this in blue?');
  await until(() => (sim.inbox('1234567890').some((m) => m.text === 'echo: Do you have this in blue?') ? true : undefined), 'the AI reply');
  const chats = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/chat-settings" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.ok(chats.data.items.some((c: { phoneNumber: string }) => c.phoneNumber === '+1234567890'));
  const changed = await curlJson(
    sh`curl -X PUT "${API_BASE}/api/whatsapp/devices/1/chat-settings/%2B1234567890" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "aiEnabled": true,
    "autoReply": true,
    "memoryEnabled": true,
    "customRules": [
      "This is a VIP customer",
      "Offer premium support"
    ]
  }'`,
    env(),
  );
  assert.deepEqual(changed.data.customRules, ['This is a VIP customer', 'Offer premium support']);
  const conversation = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/chat-settings/%2B1234567890/conversation" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.deepEqual(
    conversation.data.messages.map((m: { role: string; text: string }) => [m.role, m.text]),
    [
      ['user', 'Do you have this in blue?'],
      ['assistant', 'echo: Do you have this in blue?'],
    ],
  );
  const stats = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/chat-settings/%2B1234567890/stats" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.deepEqual([stats.data.messagesReceived, stats.data.aiReplies], [1, 1]);
  const cleared = await curlJson(
    sh`curl -X DELETE "${API_BASE}/api/whatsapp/1/1234567890@s.whatsapp.net/memory" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(cleared.success, true);
  assert.deepEqual((await api('GET', '/api/whatsapp/devices/1/chat-settings/%2B1234567890/conversation')).data.messages, [], 'forgotten');
  const bulk = await curlJson(
    sh`curl -X POST "${API_BASE}/api/whatsapp/devices/1/chat-settings/bulk-update" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "chats": [
      {
        "phoneNumber": "+1234567890",
        "aiEnabled": true,
        "autoReply": true
      },
      {
        "phoneNumber": "+0987654321",
        "aiEnabled": false
      }
    ]
  }'`,
    env(),
  );
  assert.equal(bulk.success, true, JSON.stringify(bulk));
  assert.equal(bulk.data.updated, 2);
});

test('seed 004 › Admin Operations › AI Providers, AI Models, AI Usage Monitoring (curl)', async () => {
  const run = (snippet: string) => curlJson(snippet, env());
  const providers = await run(sh`curl -X GET "${API_BASE}/api/whatsapp/admin/ai/providers" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "X-Admin-Token: ${ADMIN_TOKEN}"`);
  assert.ok(providers.data.every((p: Record<string, unknown>) => !('apiKey' in p)), 'keys never leave');
  const created = await run(sh`curl -X POST "${API_BASE}/api/whatsapp/admin/ai/providers" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "X-Admin-Token: ${ADMIN_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "name": "custom-llm",
    "displayName": "Custom LLM Provider",
    "endpoint": "https://api.custom-llm.com/v1",
    "apiKey": "sk-custom-key...",
    "status": "active"
  }'`);
  assert.deepEqual([created.data.name, created.data.kind, created.data.hasApiKey], ['custom-llm', 'openai-compatible', true]);
  assert.ok(!JSON.stringify(created).includes('sk-custom-key'));
  const models = await run(sh`curl -X GET "${API_BASE}/api/whatsapp/admin/ai/models" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "X-Admin-Token: ${ADMIN_TOKEN}"`);
  assert.ok(models.data.some((m: { name: string }) => m.name === 'gpt-4'));
  const model = await run(sh`curl -X POST "${API_BASE}/api/whatsapp/admin/ai/models" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "X-Admin-Token: ${ADMIN_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "name": "gpt-4-turbo",
    "providerId": 1,
    "displayName": "GPT-4 Turbo",
    "inputCost": 0.01,
    "outputCost": 0.03,
    "maxTokens": 128000,
    "contextWindow": 128000,
    "status": "active"
  }'`);
  assert.deepEqual([model.data.name, model.data.inputCost, model.data.contextWindow], ['gpt-4-turbo', 0.01, 128000]);
  const repriced = await run(sh`curl -X PUT "${API_BASE}/api/whatsapp/admin/ai/models/1" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "X-Admin-Token: ${ADMIN_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "inputCost": 0.005,
    "outputCost": 0.015,
    "status": "active"
  }'`);
  assert.deepEqual([repriced.data.id, repriced.data.inputCost, repriced.data.outputCost], [1, 0.005, 0.015]);
  const removed = await run(sh`curl -X DELETE "${API_BASE}/api/whatsapp/admin/ai/models/1" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "X-Admin-Token: ${ADMIN_TOKEN}"`);
  assert.equal(removed.success, true);
  const logs = await run(sh`curl -X GET "${API_BASE}/api/whatsapp/admin/ai/usage-logs?limit=100&provider=openai" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "X-Admin-Token: ${ADMIN_TOKEN}"`);
  assert.equal(logs.data.total, 2, 'the test call and the reply');
  assert.ok(logs.data.totalCost > 0);
  const log = logs.data.logs.find((l: { purpose: string }) => l.purpose === 'test');
  assert.deepEqual([log.provider, log.model, log.userId, typeof log.cost, typeof log.duration, typeof log.timestamp], ['openai', 'gpt-3.5-turbo', 'admin', 'number', 'number', 'string']);
  const alerts = await run(sh`curl -X GET "${API_BASE}/api/whatsapp/admin/ai/cost-alerts" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "X-Admin-Token: ${ADMIN_TOKEN}"`);
  assert.deepEqual(alerts.data.alerts, [], 'no limit set yet');
  const deactivated = await run(sh`curl -X PUT "${API_BASE}/api/whatsapp/admin/ai/providers/1" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "X-Admin-Token: ${ADMIN_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "status": "inactive",
    "apiKey": "new-api-key..."
  }'`);
  assert.deepEqual([deactivated.data.status, deactivated.data.hasApiKey], ['inactive', true]);
  assert.ok(!(await api('GET', '/api/whatsapp/ai/providers')).data.some((p: { id: number }) => p.id === 1), 'an inactive provider is not offered');
  const deleted = await run(sh`curl -X DELETE "${API_BASE}/api/whatsapp/admin/ai/providers/1" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "X-Admin-Token: ${ADMIN_TOKEN}"`);
  assert.equal(deleted.success, true);
  assert.equal((await api('GET', '/api/whatsapp/admin/ai/models?providerId=1')).data.length, 0, 'its models went with it');
});
