import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { sqlOf } from '../../src/events/event-store.ts';
import { bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// Issue 11's findings: bad input is a 400 in our shape with the field named, before any database work, and a
// unique violation is a 409 with a precise code.
let platform: TestPlatform;
let alice: { id: number; token: string };
let phone: { id: number; apiKey: string; sessionId: string };
let tablet: { id: number; apiKey: string; sessionId: string };

const createDevice = async (alias: string) => {
  const res = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers: bearer(alice.token), payload: { alias } });
  assert.equal(res.statusCode, 201, res.body);
  const { id, apiKey, sessionId } = res.json().data;
  return { id, apiKey, sessionId };
};

before(async () => {
  platform = await startTestPlatform();
  alice = await createUser(platform, 'alice');
  phone = await createDevice('phone');
  tablet = await createDevice('tablet');
});
after(() => platform.close());

// What the sending routes would write for the phone, which sends nothing in these tests (other events, audit
// entries or the tablet's campaign, may be appended meanwhile).
const eventCount = async () =>
  Number(
    (await sqlOf(platform.app.orm.em.fork())("select count(*) as n from events where device_id = ? and (type like 'message.%' or type like 'campaign.%')", [phone.id]))[0]!
      .n,
  );

// A refusal in our shape naming `field` (a prefix of the reported field is enough for nested ones).
function assertRefused(res: { statusCode: number; body: string; json(): any }, field: string) {
  assert.equal(res.statusCode, 400, res.body);
  const body = res.json();
  assert.equal(body.success, false);
  assert.equal(body.code, 'VALIDATION_ERROR');
  assert.equal(typeof body.error, 'string');
  assert.equal(typeof body.message, 'string');
  assert.ok(
    body.details?.some((d: { field: string }) => d.field.startsWith(field)),
    `expected a detail naming ${field}: ${res.body}`,
  );
}

test('a NUL in a string is 400 naming the field: login body, path parameter, query string', async () => {
  const login = await platform.request({ method: 'POST', url: '/api/auth/login', payload: { username: 'u\u0000sername', password: 'x' } });
  assertRefused(login, 'body.username');
  const status = await platform.request({ method: 'GET', url: '/api/whatsapp/messages/%00/status', headers: bearer(alice.token) });
  assertRefused(status, 'params.messageId');
  const contacts = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${phone.id}/contacts?search=a%00b`, headers: bearer(alice.token) });
  assertRefused(contacts, 'querystring.search');
  // Before credentials are looked up: a NUL in ?token= is refused as input, not as a bad credential.
  const token = await platform.request({ method: 'GET', url: '/api/whatsapp/events/stream?token=a%00b' });
  assertRefused(token, 'querystring.token');
  const key = await platform.request({ method: 'PUT', url: `/api/whatsapp/devices/${phone.id}`, headers: bearer(alice.token), payload: { metadata: { 'a\u0000': 1 } } });
  assertRefused(key, 'body.metadata');
});

test('a lone surrogate in a text is 400 and writes nothing to the event log: send, bulk, location, edits, reactions', async () => {
  const before = await eventCount();
  const lone = 'hello \ud800';
  const requests = [
    ['/api/whatsapp/send', { sessionId: phone.sessionId, phoneNumber: '+15550001111', message: lone }, 'body.message'],
    ['/api/whatsapp/send/bulk', { sessionId: phone.sessionId, message: 'hi', recipients: [{ phoneNumber: '+15550001111', message: lone }] }, 'body.recipients.0.message'],
    ['/api/whatsapp/send/location', { sessionId: phone.sessionId, phoneNumber: '+15550001111', latitude: 1, longitude: 2, name: '\udc00' }, 'body.name'],
    ['/api/whatsapp/messages/some-id/edit', { message: lone }, 'body.message'],
    ['/api/whatsapp/messages/some-id/reaction', { emoji: '\ud83d' }, 'body.emoji'],
  ] as const;
  for (const [url, payload, field] of requests) {
    assertRefused(await platform.request({ method: 'POST', url, headers: bearer(alice.token), payload }), field);
  }
  assert.equal(await eventCount(), before);
});

test('1e400 in a numeric query parameter is 400 naming it, never Infinity in SQL', async () => {
  const cases = [
    [`/api/whatsapp/devices/${phone.id}/contacts?limit=1e400`, 'querystring.limit'],
    ['/api/whatsapp/admin/users?cursor=1e400', 'querystring.cursor'],
    ['/api/whatsapp/events?after=1e400', 'querystring.after'],
    ['/api/whatsapp/events?after=-1e400', 'querystring.after'],
    [`/api/whatsapp/devices/${phone.id}/chats?limit=1e400`, 'querystring.limit'],
    ['/api/whatsapp/devices/99999999999/qr', 'params.id'],
  ] as const;
  for (const [url, field] of cases) {
    const headers = url.includes('admin') ? { 'x-admin-token': platform.config.adminToken! } : bearer(alice.token);
    const res = await platform.request({ method: 'GET', url, headers });
    assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
    assertRefused(res, field);
  }
  // A header validation coerces (Last-Event-ID), and a body's 1e400 (JSON parses it to Infinity), too.
  const resume = await platform.request({ method: 'GET', url: '/api/whatsapp/events/stream', headers: { ...bearer(alice.token), 'last-event-id': '1e400' } });
  assertRefused(resume, 'headers.last-event-id');
  const body = await platform.request({
    method: 'POST',
    url: '/api/whatsapp/send/location',
    headers: { ...bearer(alice.token), 'content-type': 'application/json' },
    payload: `{"sessionId":"${phone.sessionId}","phoneNumber":"+15550001111","latitude":1e400,"longitude":2}`,
  });
  assertRefused(body, 'body.latitude');
});

test('metadata nested thousands of levels deep is 400, on create and on update', async () => {
  const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
  const headers = { ...bearer(alice.token), 'content-type': 'application/json' };
  const created = await platform.request({ method: 'POST', url: '/api/whatsapp/devices', headers, payload: `{"alias":"deep","metadata":${deep}}` });
  assertRefused(created, 'body.metadata.a');
  const updated = await platform.request({ method: 'PUT', url: `/api/whatsapp/devices/${phone.id}`, headers, payload: `{"metadata":${deep}}` });
  assertRefused(updated, 'body.metadata.a');
  const list = await platform.request({ method: 'GET', url: '/api/whatsapp/users/alice/devices', headers: bearer(alice.token) });
  assert.deepEqual(list.json().data.map((d: { alias: string }) => d.alias).sort(), ['phone', 'tablet']);
});

test("renaming a device to another of the user's aliases is 409 DEVICE_ALREADY_EXISTS, and changes nothing", async () => {
  const res = await platform.request({ method: 'PUT', url: `/api/whatsapp/devices/${phone.id}`, headers: bearer(alice.token), payload: { alias: 'tablet' } });
  assert.equal(res.statusCode, 409, res.body);
  assert.equal(res.json().code, 'DEVICE_ALREADY_EXISTS');
  assert.doesNotMatch(res.body, /constraint|unique|duplicate key|insert|update /i, 'nothing of the database in the answer');
  const still = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${phone.id}`, headers: bearer(alice.token) });
  assert.equal(still.json().data.alias, 'phone');
});

test("fastify's own refusals answer in our shape: a 4 KB path parameter, a malformed percent-encoding", async () => {
  const long = await platform.request({ method: 'GET', url: `/api/whatsapp/messages/${'x'.repeat(4096)}/status`, headers: bearer(alice.token) });
  assertRefused(long, 'params');
  const malformed = await platform.request({ method: 'GET', url: '/api/whatsapp/messages/%E0%A4%A/status', headers: bearer(alice.token) });
  assertRefused(malformed, 'params');
  const surrogate = await platform.request({ method: 'GET', url: '/api/whatsapp/messages/%ED%A0%80/status', headers: bearer(alice.token) });
  assertRefused(surrogate, 'params');
  // A parameter within the router's bound but over the schema's is the schema's to name.
  const overSchema = await platform.request({ method: 'GET', url: `/api/whatsapp/messages/${'x'.repeat(200)}/status`, headers: bearer(alice.token) });
  assertRefused(overSchema, 'params.messageId');
});

test("a device key asking for another device's campaign hears exactly what a missing one answers", async () => {
  const bulk = await platform.request({
    method: 'POST',
    url: '/api/whatsapp/send/bulk',
    headers: bearer(alice.token),
    payload: { sessionId: tablet.sessionId, message: 'hi', recipients: [{ phoneNumber: '+15550002222' }] },
  });
  assert.equal(bulk.statusCode, 202, bulk.body);
  const { campaignId } = bulk.json().data;
  const ask = (id: string) => platform.request({ method: 'GET', url: `/api/whatsapp/campaigns/${id}`, headers: { 'x-device-api-key': phone.apiKey } });
  const foreign = await ask(campaignId);
  const missing = await ask('cmp_missing');
  assert.equal(foreign.statusCode, missing.statusCode);
  assert.equal(foreign.statusCode, 404);
  const shape = (res: { json(): any }, id: string) => JSON.stringify(res.json()).replaceAll(id, '<id>');
  assert.equal(shape(foreign, campaignId), shape(missing, 'cmp_missing'));
  const own = await platform.request({ method: 'GET', url: `/api/whatsapp/campaigns/${campaignId}`, headers: { 'x-device-api-key': tablet.apiKey } });
  assert.equal(own.statusCode, 200, own.body);
});

test('a bulk send whose every row is rejected is 400 with the rows named, and creates no campaign', async () => {
  const before = await eventCount();
  const res = await platform.request({
    method: 'POST',
    url: '/api/whatsapp/send/bulk',
    headers: bearer(alice.token),
    payload: { sessionId: phone.sessionId, message: 'hi {name}', recipients: [{ phoneNumber: 'not a number' }, { phoneNumber: '+15550003333' }] },
  });
  assertRefused(res, 'body.recipients.0.phoneNumber');
  assert.ok(res.json().details.some((d: { field: string }) => d.field === 'body.recipients.1.message'), res.body);
  assert.equal(await eventCount(), before);
});

test('the seed 004 WebSocket refuses the same input in its messages, naming the field', async () => {
  const base = (await platform.app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
  const socket = new WebSocket(`${base}/ws?token=${alice.token}`);
  const received: Record<string, unknown>[] = [];
  let arrived: (() => void) | undefined;
  socket.on('message', (raw) => {
    received.push(JSON.parse(String(raw)));
    arrived?.();
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const answer = async (message: string) => {
    const count = received.length;
    socket.send(message);
    while (received.length === count) await new Promise<void>((resolve) => (arrived = resolve));
    return received.at(-1)!;
  };
  assert.deepEqual(await answer(JSON.stringify({ type: 'subscribe', sessionId: 'a\u0000b' })), {
    type: 'error',
    error: 'message.sessionId must not contain a NUL character (\\u0000)',
  });
  assert.deepEqual(await answer(JSON.stringify({ type: 'subscribe', sessionId: '\ud800' })), {
    type: 'error',
    error: 'message.sessionId must not contain an unpaired UTF-16 surrogate',
  });
  const deep = await answer(`{"type":"subscribe","sessionId":"${phone.sessionId}","x":${'['.repeat(5000)}${']'.repeat(5000)}}`);
  assert.equal(deep.type, 'error');
  assert.match(String(deep.error), /^message\.x(\.0)+ must not nest deeper than 32 levels$/);
  // The socket still serves good messages.
  assert.deepEqual(await answer(JSON.stringify({ type: 'subscribe', sessionId: phone.sessionId })), { type: 'subscribed', sessionId: phone.sessionId, format: 'both' });
  socket.close();
});

test("what Node's HTTP parser refuses (a URL beyond 16 KB) answers in our shape too", async () => {
  if (!platform.app.server.listening) await platform.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = platform.app.server.address() as { port: number };
  const res = await fetch(`http://127.0.0.1:${port}/api/whatsapp/messages/${'x'.repeat(20_000)}/status`, { headers: bearer(alice.token) });
  assert.equal(res.status, 431);
  assert.deepEqual(await res.json(), {
    success: false,
    error: 'The request line and headers are larger than the server reads (16 KB): shorten the URL or the headers',
    message: 'The request line and headers are larger than the server reads (16 KB): shorten the URL or the headers',
    code: 'REQUEST_HEADERS_TOO_LARGE',
  });
});
