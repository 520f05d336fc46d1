import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sqlOf } from '../../src/events/event-store.ts';
import { bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// Seed 004's Business Templates: shipped sets per type and language, a user's own sets replacing them for that user
// only, and sends (one and bulk) naming a template instead of a text.
let platform: TestPlatform;
let owner: { id: number; token: string };
let other: { id: number; token: string };
before(async () => {
  platform = await startTestPlatform({ LOGIN_QR_WAIT: '0' });
  owner = await createUser(platform, 'cafe-owner');
  other = await createUser(platform, 'someone-else');
});
after(() => platform.close());

const call = (token: string, method: 'GET' | 'PUT' | 'DELETE' | 'POST', url: string, payload?: object) =>
  platform.request({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
const SEED_TYPES = ['restaurant', 'retail', 'ecommerce', 'salon', 'gym', 'hotel', 'clinic', 'education', 'realestate', 'automotive'];
const MY_CAFE = { displayName: 'My Cafe', templates: { greeting: 'Welcome to {businessName}! ☕', special: "Today's special: {specialItem} - {specialPrice}" }, categories: ['greeting', 'sales'] };

test('shipped sets: the ten seed types in English and Indonesian, each language with the same templates and variables, read-only', async () => {
  const types = await call(owner.token, 'GET', '/api/business-templates/types');
  assert.deepEqual(types.json(), { success: true, data: SEED_TYPES });
  const all = (await call(owner.token, 'GET', '/api/business-templates')).json().data;
  assert.equal(all.length, 20);
  assert.deepEqual(new Set(all.map((s: { language: string }) => s.language)), new Set(['en', 'id']));
  const english = (await call(owner.token, 'GET', '/api/business-templates?language=en')).json().data;
  assert.deepEqual(english.map((s: { businessType: string }) => s.businessType), SEED_TYPES);
  for (const set of all) {
    assert.ok(Object.keys(set.templates).length >= 5, `${set.businessType}/${set.language} has templates`);
    assert.deepEqual([set.source, set.isActive, set.updatedAt], ['shipped', true, null]);
  }
  // Its body word for word is the seed's (tests/conformance/seed-004-templates.e2e.test.ts).
  const restaurant = (await call(owner.token, 'GET', '/api/business-templates/restaurant/en')).json().data;
  assert.deepEqual([restaurant.displayName, Object.keys(restaurant.templates)], ['Restaurant', ['greeting', 'menu', 'reservation', 'orderConfirmation', 'delivery']]);
  // The English and Indonesian sets of a type name the same templates with the same variables.
  for (const type of SEED_TYPES) {
    const [en, id] = ['en', 'id'].map((lang) => all.find((s: { businessType: string; language: string }) => s.businessType === type && s.language === lang).templates);
    assert.deepEqual(Object.keys(id).sort(), Object.keys(en).sort(), type);
    for (const name of Object.keys(en)) assert.deepEqual(id[name].match(/\{\w+\}/g)?.sort(), en[name].match(/\{\w+\}/g)?.sort(), `${type}.${name}`);
  }
  const refused = await call(owner.token, 'DELETE', '/api/business-templates/restaurant/en');
  assert.deepEqual([refused.statusCode, refused.json().code], [409, 'TEMPLATE_READ_ONLY']);
  const missing = await call(owner.token, 'GET', '/api/business-templates/restaurant/fr');
  assert.deepEqual([missing.statusCode, missing.json().code, missing.json().success], [404, 'TEMPLATE_NOT_FOUND', false]);
});

test('a user’s own sets: created (201), replaced (200), theirs only; an override of a shipped set, and deleting it brings the shipped one back', async () => {
  const created = await call(owner.token, 'PUT', '/api/business-templates/mycafe/en', { businessType: 'mycafe', language: 'en', ...MY_CAFE, isActive: true });
  assert.equal(created.statusCode, 201, created.body);
  assert.deepEqual([created.json().data.source, created.json().data.templates.greeting], ['custom', 'Welcome to {businessName}! ☕']);
  const replaced = await call(owner.token, 'PUT', '/api/business-templates/mycafe/en', { ...MY_CAFE, templates: { greeting: 'Hi from {businessName}' } });
  assert.equal(replaced.statusCode, 200, replaced.body);
  assert.deepEqual(replaced.json().data.templates, { greeting: 'Hi from {businessName}' }, 'a PUT replaces the whole set');
  assert.deepEqual((await call(owner.token, 'GET', '/api/business-templates/types')).json().data, [...SEED_TYPES, 'mycafe']);
  assert.equal((await call(owner.token, 'GET', '/api/business-templates')).json().data.length, 21);

  // Another user sees none of it.
  assert.equal((await call(other.token, 'GET', '/api/business-templates/mycafe/en')).statusCode, 404);
  assert.deepEqual((await call(other.token, 'GET', '/api/business-templates/types')).json().data, SEED_TYPES);
  assert.equal((await call(other.token, 'DELETE', '/api/business-templates/mycafe/en')).statusCode, 404);

  const override = await call(owner.token, 'PUT', '/api/business-templates/restaurant/en', { displayName: 'Chez Nous', templates: { greeting: 'Bienvenue chez {businessName}!' } });
  assert.equal(override.statusCode, 201, override.body);
  assert.equal((await call(owner.token, 'GET', '/api/business-templates/restaurant/en')).json().data.displayName, 'Chez Nous');
  assert.equal((await call(other.token, 'GET', '/api/business-templates/restaurant/en')).json().data.displayName, 'Restaurant', 'the shipped set for everyone else');
  const listed = (await call(owner.token, 'GET', '/api/business-templates?language=en')).json().data;
  assert.deepEqual(listed.map((s: { businessType: string; source: string }) => `${s.businessType}:${s.source}`).slice(0, 2), ['restaurant:custom', 'retail:shipped']);
  const deleted = await call(owner.token, 'DELETE', '/api/business-templates/restaurant/en');
  assert.equal(deleted.statusCode, 200, deleted.body);
  assert.deepEqual([deleted.json().data.displayName, deleted.json().data.source], ['Restaurant', 'shipped']);
  assert.equal((await call(owner.token, 'GET', '/api/business-templates/restaurant/en')).json().data.source, 'shipped');
});

test('bad sets are refused with 400 and change nothing', async () => {
  const before = (await call(owner.token, 'GET', '/api/business-templates/mycafe/en')).json().data;
  const bad: [string, object][] = [
    ['/api/business-templates/mycafe/en', { ...MY_CAFE, businessType: 'othercafe' }],
    ['/api/business-templates/mycafe/en', { ...MY_CAFE, language: 'id' }],
    ['/api/business-templates/mycafe/en', { ...MY_CAFE, templates: {} }],
    ['/api/business-templates/mycafe/en', { ...MY_CAFE, templates: { greeting: '' } }],
    ['/api/business-templates/mycafe/en', { ...MY_CAFE, templates: { 'not a name': 'x' } }],
    ['/api/business-templates/mycafe/en', { templates: MY_CAFE.templates }],
    ['/api/business-templates/mycafe/en', { ...MY_CAFE, extra: true }],
    ['/api/business-templates/My%20Cafe/en', MY_CAFE],
    ['/api/business-templates/mycafe/english', MY_CAFE],
  ];
  for (const [url, payload] of bad) {
    const res = await call(owner.token, 'PUT', url, payload);
    assert.equal(res.statusCode, 400, `${url} ${JSON.stringify(payload)}: ${res.body}`);
    assert.deepEqual([res.json().success, typeof res.json().code], [false, 'string']);
  }
  assert.deepEqual((await call(owner.token, 'GET', '/api/business-templates/mycafe/en')).json().data, before);
  assert.equal((await call(owner.token, 'GET', '/api/business-templates?language=EN')).statusCode, 400);
});

async function deviceOf(token: string, alias: string): Promise<string> {
  const created = await call(token, 'POST', '/api/whatsapp/devices', { alias });
  assert.equal(created.statusCode, 201, created.body);
  return created.json().device.sessionId;
}
const queuedText = async (messageId: string) => {
  const [row] = await sqlOf(platform.app.orm.em.fork())(`select data->'content'->>'text' as text from events where stream_id = ? and type = 'message.queued'`, [`message-${messageId}`]);
  return row?.text;
};

test('POST /send with a template: the text filled from its variables; a missing variable, an unknown template or both message and template refused', async () => {
  const sessionId = await deviceOf(owner.token, 'templates-one');
  const send = (body: object) => call(owner.token, 'POST', '/api/whatsapp/send', { sessionId, phoneNumber: '6281700000101', ...body });
  const sent = await send({ template: { businessType: 'restaurant', language: 'id', name: 'orderConfirmation', variables: { orderId: 12345, total: 'Rp 50.000', eta: '20 menit' } } });
  assert.equal(sent.statusCode, 202, sent.body);
  assert.equal(await queuedText(sent.json().data.messageId), 'Pesanan #12345 dikonfirmasi! Total: Rp 50.000. Perkiraan tiba: 20 menit');
  const own = await send({ template: { businessType: 'mycafe', language: 'en', name: 'greeting', variables: { businessName: "Joe's Coffee" } } });
  assert.equal(own.statusCode, 202, own.body);
  assert.equal(await queuedText(own.json().data.messageId), "Hi from Joe's Coffee");

  const count = async () => Number((await sqlOf(platform.app.orm.em.fork())(`select count(*) as n from events where type = 'message.queued'`))[0]!.n);
  const queued = await count();
  const refusals: [object, number, string, RegExp][] = [
    [{ template: { businessType: 'restaurant', language: 'en', name: 'orderConfirmation', variables: { orderId: 1 } } }, 400, 'VALIDATION_ERROR', /no value for \{total\}/],
    [{ template: { businessType: 'restaurant', language: 'en', name: 'nope' } }, 404, 'TEMPLATE_NOT_FOUND', /has no template "nope"/],
    [{ template: { businessType: 'bakery', language: 'en', name: 'greeting' } }, 404, 'TEMPLATE_NOT_FOUND', /No business template set bakery\/en/],
    [{ message: 'hi', template: { businessType: 'restaurant', language: 'en', name: 'menu', variables: { menuLink: 'x' } } }, 400, 'VALIDATION_ERROR', /either message or template/],
    [{}, 400, 'VALIDATION_ERROR', /either message or template/],
  ];
  for (const [body, status, code, message] of refusals) {
    const res = await send(body);
    assert.deepEqual([res.statusCode, res.json().code], [status, code], res.body);
    assert.match(res.json().message ?? res.json().error, message);
  }
  // Another user's set is not there for this user's sends.
  await call(other.token, 'PUT', '/api/business-templates/secret/en', { displayName: 'Secret', templates: { hello: 'psst' } });
  assert.equal((await send({ template: { businessType: 'secret', language: 'en', name: 'hello' } })).statusCode, 404);
  // An inactive set cannot be sent.
  await call(owner.token, 'PUT', '/api/business-templates/closed/en', { displayName: 'Closed', templates: { hello: 'hello' }, isActive: false });
  const inactive = await send({ template: { businessType: 'closed', language: 'en', name: 'hello' } });
  assert.deepEqual([inactive.statusCode, inactive.json().code], [409, 'TEMPLATE_INACTIVE']);
  assert.equal(await count(), queued, 'no refusal queued anything');
});

test('bulk by template: per-recipient variables over the template’s own, a recipient’s own template or text, a bad row rejected and the rest sent', async () => {
  const sessionId = await deviceOf(owner.token, 'templates-bulk');
  const res = await call(owner.token, 'POST', '/api/whatsapp/send/bulk', {
    sessionId,
    template: { businessType: 'restaurant', language: 'en', name: 'reservation', variables: { time: '19:00' } },
    recipients: [
      { phoneNumber: '6281700000201', variables: { partySize: 2, date: 'Friday' } },
      { phoneNumber: '6281700000202', variables: { partySize: 4, date: 'Saturday', time: '20:30' } },
      { phoneNumber: '6281700000203', variables: { partySize: 3 } },
      { phoneNumber: '6281700000204', template: { businessType: 'mycafe', language: 'en', name: 'greeting' }, variables: { businessName: 'Bean There' } },
      { phoneNumber: '6281700000205', message: 'Plain {word}', variables: { word: 'text' } },
      { phoneNumber: '6281700000206', template: { businessType: 'mycafe', language: 'en', name: 'special' } },
    ],
  });
  assert.equal(res.statusCode, 202, res.body);
  const { accepted, rejected } = res.json().data;
  assert.equal(accepted, 4);
  assert.deepEqual(
    rejected.map((r: { index: number; error: string }) => [r.index, r.error]),
    [
      [2, 'no value for {date} in template restaurant/en/reservation'],
      [5, 'TEMPLATE_NOT_FOUND: The set mycafe/en has no template "special" (it has greeting)'],
    ],
  );
  const texts = await sqlOf(platform.app.orm.em.fork())(
    `select data->>'to' as to, data->'content'->>'text' as text from events where type = 'message.queued' and data->>'campaignId' = ? order by data->>'to'`,
    [res.json().data.campaignId],
  );
  assert.deepEqual(
    texts.map((t) => [String(t.to).slice(0, 13), t.text]),
    [
      ['6281700000201', 'Your reservation for 2 on Friday at 19:00 is confirmed!'],
      ['6281700000202', 'Your reservation for 4 on Saturday at 20:30 is confirmed!'],
      ['6281700000204', 'Hi from Bean There'],
      ['6281700000205', 'Plain text'],
    ],
  );
  const unknown = await call(owner.token, 'POST', '/api/whatsapp/send/bulk', { sessionId, template: { businessType: 'nope', language: 'en', name: 'x' }, recipients: [{ phoneNumber: '6281700000207' }] });
  assert.deepEqual([unknown.statusCode, unknown.json().code], [404, 'TEMPLATE_NOT_FOUND']);
  const both = await call(owner.token, 'POST', '/api/whatsapp/send/bulk', { sessionId, message: 'hi', template: { businessType: 'restaurant', language: 'en', name: 'menu' }, recipients: [{ phoneNumber: '6281700000207' }] });
  assert.equal(both.statusCode, 400);
});
