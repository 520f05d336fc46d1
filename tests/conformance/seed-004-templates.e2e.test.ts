import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '../helpers/wait.ts';
import type { WhatsAppSimulator } from '../../simulator/server.ts';
import { API_BASE, API_TOKEN, SEED_API_TOKEN, curlJson, scanWithPhone, sh, useSeedPlatform } from './seed-platform.ts';

// Seed 004's Business Templates, snippet by snippet, as written, then its "Using Templates in Messages" JavaScript
// and the same message by template reference, both read back at the seed's contact (+1234567890) in the simulator.
let sim: WhatsAppSimulator;
let base: string;
useSeedPlatform({}, (seed) => ({ sim, API_BASE: base } = seed));
const env = () => ({ API_BASE: base, API_TOKEN: SEED_API_TOKEN });
const SEED_TYPES = ['restaurant', 'retail', 'ecommerce', 'salon', 'gym', 'hotel', 'clinic', 'education', 'realestate', 'automotive'];

test('seed 004 › Business Templates › 1. Get All Templates (curl, both commands)', async () => {
  const all = await curlJson(
    sh`curl -X GET "${API_BASE}/api/business-templates" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(all.success, true, JSON.stringify(all));
  assert.equal(all.data.length, 20);
  const english = await curlJson(
    sh`curl -X GET "${API_BASE}/api/business-templates?language=en" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.deepEqual(english.data.map((s: { businessType: string; language: string }) => `${s.businessType}/${s.language}`), SEED_TYPES.map((t) => `${t}/en`));
});

test('seed 004 › Business Templates › 2. Get Business Types (curl): the seed’s response', async () => {
  const types = await curlJson(
    sh`curl -X GET "${API_BASE}/api/business-templates/types" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.deepEqual(types, { success: true, data: SEED_TYPES });
});

test('seed 004 › Business Templates › 3. Get Specific Template (curl): the seed’s response', async () => {
  const restaurant = await curlJson(
    sh`curl -X GET "${API_BASE}/api/business-templates/restaurant/en" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  const { source, updatedAt, ...seedShape } = restaurant.data;
  assert.deepEqual([source, updatedAt], ['shipped', null]);
  assert.deepEqual(
    { success: restaurant.success, data: seedShape },
    {
      success: true,
      data: {
        businessType: 'restaurant',
        language: 'en',
        displayName: 'Restaurant',
        templates: {
          greeting: 'Welcome to {businessName}! How can we serve you today?',
          menu: 'Check out our menu at {menuLink}',
          reservation: 'Your reservation for {partySize} on {date} at {time} is confirmed!',
          orderConfirmation: 'Order #{orderId} confirmed! Total: {total}. ETA: {eta}',
          delivery: 'Your order is out for delivery! Track: {trackingLink}',
        },
        categories: ['greeting', 'sales', 'support'],
        isActive: true,
      },
    },
  );
});

test('seed 004 › Business Templates › 4. Create/Update Template and 5. Delete Template (curl)', async () => {
  const created = await curlJson(
    sh`curl -X PUT "${API_BASE}/api/business-templates/mycafe/en" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "businessType": "mycafe",
    "language": "en",
    "displayName": "My Cafe",
    "templates": {
      "greeting": "Welcome to {businessName}! â˜•",
      "special": "Today'\''s special: {specialItem} - {specialPrice}"
    },
    "categories": ["greeting", "sales"],
    "isActive": true
  }'`,
    env(),
  );
  assert.equal(created.success, true, JSON.stringify(created));
  assert.deepEqual([created.data.businessType, created.data.displayName, created.data.source], ['mycafe', 'My Cafe', 'custom']);
  assert.equal(created.data.templates.special, "Today's special: {specialItem} - {specialPrice}");
  assert.match(created.data.templates.greeting, /^Welcome to \{businessName\}! /);
  const types = await curlJson(sh`curl -s "${API_BASE}/api/business-templates/types" -H "X-API-Token: ${API_TOKEN}"`, env());
  assert.equal(types.data.at(-1), 'mycafe');
  const deleted = await curlJson(
    sh`curl -X DELETE "${API_BASE}/api/business-templates/mycafe/en" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(deleted.success, true, JSON.stringify(deleted));
  const gone = await curlJson(sh`curl -s "${API_BASE}/api/business-templates/mycafe/en" -H "X-API-Token: ${API_TOKEN}"`, env());
  assert.deepEqual([gone.success, gone.code], [false, 'TEMPLATE_NOT_FOUND']);
});

test('seed 004 › Business Templates › Using Templates in Messages (JavaScript), and the same by template reference', { timeout: 90_000 }, async () => {
  const api = async (method: string, path: string, body?: unknown): Promise<any> =>
    (await fetch(`${base}${path}`, { method, headers: { 'X-API-Token': SEED_API_TOKEN, 'Content-Type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) })).json();
  const { device } = await api('POST', '/api/whatsapp/devices', { alias: 'my-business-phone' });
  const qr = await until(async () => (await api('GET', `/api/whatsapp/devices/${device.id}/qr`)).qr as string | undefined, 'QR');
  scanWithPhone(sim, qr, '6281100000010');
  await until(async () => ((await api('GET', `/api/whatsapp/devices/${device.id}`)).data.status === 'connected' ? true : undefined), 'connected');
  sim.createPhone('1234567890');
  const API_BASE = base;
  const API_TOKEN = SEED_API_TOKEN;
  const SESSION_ID = device.sessionId as string;

  // Example: Using template variables
  const template = "Welcome to {businessName}! Your order #{orderId} for {productName} is ready.";
  const variables = {
    businessName: "Joe's Coffee",
    orderId: "12345",
    productName: "Cappuccino"
  };

  // Replace variables
  let message = template;
  for (const [key, value] of Object.entries(variables)) {
    message = message.replace(new RegExp(`\\{${key}\\}`, 'g'), value);
  }

  // Send the message
  const sent = await fetch(`${API_BASE}/api/whatsapp/send`, {
    method: 'POST',
    headers: {
      'X-API-Token': API_TOKEN,
      'Content-Type': 'application/json'
    },
    body: JSON.stringify({
      sessionId: SESSION_ID,
      phoneNumber: '+1234567890',
      message: message
    })
  });
  assert.equal(sent.status, 202, await sent.clone().text());

  // The same, the platform filling a template of the user's in.
  const byReference = await api('PUT', '/api/business-templates/coffee/en', { displayName: 'Coffee', templates: { ready: template } });
  assert.equal(byReference.success, true, JSON.stringify(byReference));
  const referenced = await api('POST', '/api/whatsapp/send', { sessionId: SESSION_ID, phoneNumber: '+1234567890', template: { businessType: 'coffee', language: 'en', name: 'ready', variables } });
  assert.equal(referenced.success, true, JSON.stringify(referenced));

  const texts = await until(() => {
    const got = sim.inbox('1234567890').map((m) => m.text);
    return got.length >= 2 ? got : undefined;
  }, 'both messages at the contact');
  assert.deepEqual(texts, ["Welcome to Joe's Coffee! Your order #12345 for Cappuccino is ready.", "Welcome to Joe's Coffee! Your order #12345 for Cappuccino is ready."]);
});
