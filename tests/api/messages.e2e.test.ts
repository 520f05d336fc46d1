import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { streamOf } from '../../src/domain/events.ts';
import { appendToStream } from '../../src/events/event-store.ts';
import { bearer, createUser, type TestPlatform } from '../helpers/platform.ts';
import { openSse } from '../helpers/sse.ts';
import { until } from '../helpers/wait.ts';
import { linkDevice, useLinkedPlatform, type LinkedDevice } from '../helpers/whatsapp.ts';
import type { InboxEntry } from '../../simulator/handset.ts';
import type { WhatsAppSimulator } from '../../simulator/server.ts';

// Sending and receiving through the whole platform: API → log → dispatcher → the session's queue → real Baileys →
// the simulator's phones, and receipts and inbound messages back into the log.
const MIN_INTERVAL_MS = 300;
let sim: WhatsAppSimulator;
let platform: TestPlatform;
let base: string;
let user: { id: number; username: string; token: string };
let device: LinkedDevice;
useLinkedPlatform({ SEND_MIN_INTERVAL: `${MIN_INTERVAL_MS}ms` }, { username: 'sender', alias: 'shop', number: '6281300000001' }, (linked) => ({ sim, platform, base, user, device } = linked));

const send = (payload: object, headers: Record<string, string> = {}) =>
  platform.request({ method: 'POST', url: '/api/whatsapp/send', headers: { ...bearer(user.token), ...headers }, payload });
const statusOf = async (messageId: string) =>
  (await platform.request({ method: 'GET', url: `/api/whatsapp/messages/${messageId}/status`, headers: bearer(user.token) })).json().data;

test('a text goes queued → sent → delivered → read, in that order on SSE and in the status; the phone has it once', { timeout: 60_000 }, async () => {
  const contact = sim.createPhone('6281300000101');
  sim.setReceipts(contact.number, { policy: 'read', delayMs: 300 });
  const seen: string[] = [];
  const sse = await openSse(`${base}/api/whatsapp/events/stream?types=message.*`, bearer(user.token), (m) => seen.push(`${JSON.parse(m.data).data.messageId} ${m.event}`));

  const res = await send({ sessionId: device.sessionId, phoneNumber: `+${contact.number}`, message: 'Hello from the platform' });
  assert.equal(res.statusCode, 202, res.body);
  const { messageId, status, timestamp } = res.json().data;
  assert.match(messageId, /^msg_/);
  assert.equal(status, 'queued');
  assert.ok(!Number.isNaN(Date.parse(timestamp)));

  const read = await until(async () => {
    const s = await statusOf(messageId);
    return s.status === 'read' ? s : undefined;
  }, 'read');
  assert.ok(read.sentAt <= read.deliveredAt && read.deliveredAt <= read.readAt, JSON.stringify(read));
  await until(() => (seen.includes(`${messageId} message.read`) ? true : undefined), 'read on SSE');
  const mine = seen.filter((line) => line.startsWith(messageId)).map((line) => line.split(' ')[1]);
  assert.deepEqual(mine, ['message.queued', 'message.sent', 'message.delivered', 'message.read']);
  const inbox = sim.inbox(contact.number).filter((m) => m.text === 'Hello from the platform');
  assert.equal(inbox.length, 1);
  assert.equal(inbox[0]!.from.split(/[:@]/)[0], device.number);
  sse.abort();
});

test('a contact that never reads: the message stays delivered', { timeout: 60_000 }, async () => {
  const contact = sim.createPhone('6281300000102');
  sim.setReceipts(contact.number, { policy: 'delivered', delayMs: 0 });
  const { messageId } = (await send({ sessionId: device.sessionId, phoneNumber: contact.number, message: 'Delivered only' })).json().data;
  await until(async () => ((await statusOf(messageId)).status === 'delivered' ? true : undefined), 'delivered');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const status = await statusOf(messageId);
  assert.equal(status.status, 'delivered');
  assert.equal(status.readAt, null);
});

test('an Idempotency-Key returns the first message again and never sends twice; the same key for another request is refused', { timeout: 60_000 }, async () => {
  const contact = sim.createPhone('6281300000103');
  const payload = { sessionId: device.sessionId, phoneNumber: contact.number, message: 'Exactly once' };
  const first = await send(payload, { 'idempotency-key': 'order-42' });
  const again = await send(payload, { 'idempotency-key': 'order-42' });
  assert.equal(again.statusCode, 202);
  assert.equal(again.headers['idempotent-replayed'], 'true');
  assert.equal(again.json().data.messageId, first.json().data.messageId);
  const byClientId = await send({ ...payload, clientMessageId: 'order-42' });
  assert.equal(byClientId.json().data.messageId, first.json().data.messageId, 'clientMessageId is the same key');
  const other = await send({ ...payload, message: 'Something else' }, { 'idempotency-key': 'order-42' });
  assert.equal(other.statusCode, 409);
  assert.equal(other.json().code, 'IDEMPOTENCY_KEY_REUSED');
  await until(async () => ((await statusOf(first.json().data.messageId)).status === 'read' ? true : undefined), 'read');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(sim.inbox(contact.number).filter((m) => m.text === 'Exactly once').length, 1);
});

test('validation: numbers, blank and long texts, unknown sessions and messages', async () => {
  const cases: [object, number, string][] = [
    [{ sessionId: device.sessionId, phoneNumber: '0812-345', message: 'x' }, 400, 'INVALID_PHONE_NUMBER'],
    [{ sessionId: device.sessionId, phoneNumber: '6281300000104', message: '   ' }, 400, 'VALIDATION_ERROR'],
    [{ sessionId: device.sessionId, phoneNumber: '6281300000104', message: 'x'.repeat(4097) }, 400, 'VALIDATION_ERROR'],
    [{ sessionId: device.sessionId, phoneNumber: '6281300000104' }, 400, 'VALIDATION_ERROR'],
    [{ sessionId: 'user_1_device_nope', phoneNumber: '6281300000104', message: 'x' }, 404, 'DEVICE_NOT_FOUND'],
  ];
  for (const [payload, status, code] of cases) {
    const res = await send(payload);
    assert.equal(res.statusCode, status, JSON.stringify(payload));
    assert.equal(res.json().code, code, JSON.stringify(payload));
  }
  const other = await createUser(platform, 'not-the-sender');
  const theirs = await platform.request({ method: 'POST', url: '/api/whatsapp/send', headers: bearer(other.token), payload: { sessionId: device.sessionId, phoneNumber: '6281300000104', message: 'x' } });
  assert.equal(theirs.statusCode, 404, "another user's session is not found");
  assert.equal((await platform.request({ method: 'GET', url: '/api/whatsapp/messages/msg_nope/status', headers: bearer(user.token) })).statusCode, 404);
});

test('a phone’s text arrives as message.received on SSE and as `message` on the WebSocket, with the sender', { timeout: 60_000 }, async () => {
  const contact = sim.createPhone('6281300000105');
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?token=${user.token}`);
  const wsMessages: { type: string; [k: string]: unknown }[] = [];
  ws.on('message', (raw) => wsMessages.push(JSON.parse(String(raw))));
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ type: 'subscribe', sessionId: device.sessionId }));
  await until(() => wsMessages.find((m) => m.type === 'subscribed'), 'subscribed');
  const received: Record<string, unknown>[] = [];
  const sse = await openSse(`${base}/api/whatsapp/events/stream?types=message.received`, bearer(user.token), (m) => received.push(JSON.parse(m.data).data));

  sim.sendFromPhone(contact.number, device.number, 'Hi shop, are you open?');
  const event = await until(() => received.find((d) => d.text === 'Hi shop, are you open?'), 'message.received on SSE');
  assert.equal(event.from, `${contact.number}@s.whatsapp.net`);
  assert.match(String(event.fromLid ?? ''), /@lid$/);
  const message = await until(() => wsMessages.find((m) => m.type === 'message'), '`message` on the WebSocket');
  assert.equal((message.message as { body: string }).body, 'Hi shop, are you open?');
  ws.close();
  sse.abort();
});

test('the session sends no faster than SEND_MIN_INTERVAL (measured at the phone)', { timeout: 60_000 }, async () => {
  const contact = sim.createPhone('6281300000106');
  // The first message to a new contact also fetches its devices and keys; start the clock after it.
  const warmUp = (await send({ sessionId: device.sessionId, phoneNumber: contact.number, message: 'warm-up' })).json().data.messageId;
  await until(async () => ((await statusOf(warmUp)).status !== 'queued' ? true : undefined), 'the warm-up sent');
  const texts = Array.from({ length: 6 }, (_, i) => `paced ${i}`);
  for (const message of texts) assert.equal((await send({ sessionId: device.sessionId, phoneNumber: contact.number, message })).statusCode, 202);
  const arrived = await until(() => {
    const inbox = sim.inbox(contact.number).filter((m) => m.text.startsWith('paced '));
    return inbox.length === texts.length ? inbox : undefined;
  }, 'all paced messages');
  assert.deepEqual(arrived.map((m) => m.text), texts, 'in order');
  // The limiter spaces the sends; encryption and the socket add a little jitter to each arrival.
  const span = arrived.at(-1)!.receivedAt - arrived[0]!.receivedAt;
  assert.ok(span >= (texts.length - 1) * MIN_INTERVAL_MS - 100, `${texts.length} messages arrived within ${span} ms`);
  for (let i = 1; i < arrived.length; i++) {
    const gap = arrived[i]!.receivedAt - arrived[i - 1]!.receivedAt;
    assert.ok(gap >= MIN_INTERVAL_MS / 2, `gap ${i}: ${gap} ms`);
  }
});

test('our privacy token is issued to a contact once, not with every message (as WhatsApp Web: once a week)', { timeout: 60_000 }, async () => {
  const contact = sim.createPhone('6281300000301');
  const issuesTo = () => sim.tokenIssues.filter((issue) => issue.to.some((jid) => jid.startsWith(`${contact.number}@`) || jid.startsWith(`${contact.lid}@`)));
  for (const text of ['first', 'second', 'third']) {
    assert.equal((await send({ sessionId: device.sessionId, phoneNumber: contact.number, message: `token ${text}` })).statusCode, 202);
    await until(() => (sim.inbox(contact.number).some((m) => m.text === `token ${text}`) ? true : undefined), `"${text}" at the phone`);
  }
  await until(() => (issuesTo().length ? true : undefined), 'the first issue');
  assert.equal(issuesTo().length, 1, JSON.stringify(issuesTo()));
});

test("reads: a chat's history both ways, paged; message logs by status; sending stats", { timeout: 60_000 }, async () => {
  const contact = sim.createPhone('6281300000108');
  const ids: string[] = [];
  for (const message of ['first', 'second', 'third']) {
    ids.push((await send({ sessionId: device.sessionId, phoneNumber: contact.number, message })).json().data.messageId);
  }
  for (const id of ids) await until(async () => ((await statusOf(id)).status === 'read' ? true : undefined), `${id} read`);
  sim.sendFromPhone(contact.number, device.number, 'a reply');
  const get = async (url: string) => (await platform.request({ method: 'GET', url, headers: bearer(user.token) })).json();
  const history = `/api/whatsapp/devices/${device.id}/messages/${contact.number}`;
  const all = await until(async () => {
    const page = await get(`${history}?limit=10`);
    return page.data.items.length === 4 ? page.data : undefined;
  }, 'four messages in the chat');
  assert.deepEqual(all.items.map((m: { body: string }) => m.body), ['a reply', 'third', 'second', 'first'], 'newest first');
  assert.deepEqual(all.items.map((m: { direction: string }) => m.direction), ['in', 'out', 'out', 'out']);
  assert.equal(all.items[0].from, `${contact.number}@s.whatsapp.net`);
  assert.equal(all.items[1].status, 'read');

  const first = (await get(`${history}?limit=3`)).data;
  assert.equal(first.items.length, 3);
  const rest = (await get(`${history}?limit=3&cursor=${first.nextCursor}`)).data;
  assert.deepEqual(rest.items.map((m: { body: string }) => m.body), ['first']);
  assert.equal(rest.nextCursor, null);
  assert.equal((await platform.request({ method: 'GET', url: `${history}?cursor=nonsense`, headers: bearer(user.token) })).statusCode, 400);

  const chats = (await get(`/api/whatsapp/devices/${device.id}/chats?limit=100`)).data;
  const chat = chats.find((c: { chatJid: string }) => c.chatJid === `${contact.number}@s.whatsapp.net`);
  assert.deepEqual([chat.messages, chat.lastMessage.body, chat.lastMessage.direction, chat.isGroup], [4, 'a reply', 'in', false]);
  assert.equal(chats[0].chatJid, chat.chatJid, 'the most recently active chat first');

  const logs = (await get(`/api/whatsapp/users/${user.username}/message-logs?status=read&limit=200`)).data.items;
  for (const id of ids) assert.ok(logs.some((m: { messageId: string }) => m.messageId === id), `${id} in the read logs`);
  assert.ok(logs.every((m: { status: string }) => m.status === 'read'));

  const stats = (await get(`/api/whatsapp/users/${user.username}/sending-stats`)).data;
  assert.ok(stats.totalSent >= 3 && stats.byStatus.read >= 3 && stats.today.sent >= 3, JSON.stringify(stats));
  assert.ok(stats.byStatus.sent >= stats.byStatus.delivered && stats.byStatus.delivered >= stats.byStatus.read);
  assert.ok(stats.successRate > 0 && stats.successRate <= 100);
  const other = await createUser(platform, 'nosy');
  assert.equal((await platform.request({ method: 'GET', url: `/api/whatsapp/users/${user.username}/sending-stats`, headers: bearer(other.token) })).statusCode, 404);
  assert.equal((await platform.request({ method: 'GET', url: history, headers: bearer(other.token) })).statusCode, 404);
});

test('a logged-out session fails its waiting messages at once, and sends to it are refused', { timeout: 90_000 }, async () => {
  const gone = await linkDevice(platform, sim, user.token, 'gone', '6281300000003');
  const contact = sim.createPhone('6281300000109');
  // WhatsApp turns the session away (and, for a while, everyone: keep it short), so its message waits.
  sim.fault([...sim.devices.keys()].find((j) => j.startsWith(`${gone.number}:`))!, 'refuse', 5000);
  const stranded = (await send({ sessionId: gone.sessionId, phoneNumber: contact.number, message: 'Never sent' })).json().data.messageId;
  await until(async () => ((await statusOf(stranded)).status === 'queued' ? true : undefined), 'queued');
  // Let the read model have it (one queued a moment before a logout is left to the periodic sweep).
  await until(async () => ((await platform.app.orm.em.fork().getConnection().execute('select 1 from message_status where message_id = ?', [stranded])).length ? true : undefined), 'in the read model');
  assert.equal((await platform.request({ method: 'POST', url: `/api/whatsapp/devices/${gone.id}/logout`, headers: bearer(user.token) })).statusCode, 200);
  const failed = await until(async () => {
    const s = await statusOf(stranded);
    return s.status === 'failed' ? s : undefined;
  }, 'failed at logout', 10_000);
  assert.match(failed.error, /logged out/);
  await until(async () => {
    const res = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${gone.id}`, headers: bearer(user.token) });
    return res.json().data.status === 'logged_out' ? true : undefined;
  }, 'logged_out');
  const refused = await send({ sessionId: gone.sessionId, phoneNumber: contact.number, message: 'Too late' });
  assert.equal(refused.statusCode, 409);
  assert.equal(refused.json().code, 'DEVICE_NOT_CONNECTED');
  assert.equal(sim.inbox(contact.number).length, 0, 'nothing reached the contact');
});

test('beyond text: a reply with a mention, location, contact card, reaction, edit and delete reach the phone as WhatsApp messages', { timeout: 90_000 }, async () => {
  const contact = sim.createPhone('6281300000110');
  const jid = `${contact.number}@s.whatsapp.net`;
  const accepted = async (url: string, payload: object, method: 'POST' | 'DELETE' = 'POST') => {
    const res = await platform.request({ method, url, headers: bearer(user.token), ...(method === 'POST' ? { payload } : {}) });
    assert.equal(res.statusCode, 202, `${url}: ${res.body}`);
    return String(res.json().data.messageId);
  };
  const sentOn = async (messageId: string) => until(async () => ((await statusOf(messageId)).status !== 'queued' ? true : undefined), `${messageId} sent`);
  const arrived = (type: string, match: (m: InboxEntry) => boolean = () => true) =>
    until(() => sim.inbox(contact.number).find((m) => m.type === type && match(m)), `a ${type} at the phone`);

  const original = await accepted('/api/whatsapp/send', { sessionId: device.sessionId, phoneNumber: contact.number, message: 'Original text' });
  await sentOn(original);
  const reply = await accepted('/api/whatsapp/send', { sessionId: device.sessionId, phoneNumber: contact.number, message: 'A reply to you @' + contact.number, quotedMessageId: original, mentions: [contact.number] });
  const replied = await arrived('extendedTextMessage', (m) => m.text.startsWith('A reply'));
  const context = replied.message.extendedTextMessage!.contextInfo!;
  assert.deepEqual(context.mentionedJid, [jid]);
  assert.equal(context.quotedMessage?.conversation, 'Original text');
  await sentOn(reply);

  await accepted('/api/whatsapp/send/location', { sessionId: device.sessionId, phoneNumber: contact.number, latitude: -6.2, longitude: 106.8, name: 'Our shop' });
  const location = (await arrived('locationMessage')).message.locationMessage!;
  assert.deepEqual([location.degreesLatitude, location.degreesLongitude, location.name], [-6.2, 106.8, 'Our shop']);

  await accepted('/api/whatsapp/send/contact', { sessionId: device.sessionId, phoneNumber: contact.number, contact: { name: 'Support', phoneNumber: '+62 811 000 111' } });
  const card = (await arrived('contactMessage')).message.contactMessage!;
  assert.equal(card.displayName, 'Support');
  assert.match(card.vcard!, /TEL;type=CELL;type=VOICE;waid=62811000111:\+62811000111/);

  const { waMessageId } = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${device.id}/messages/${contact.number}?limit=50`, headers: bearer(user.token) }).then((r) => r.json().data.items.find((m: { messageId: string }) => m.messageId === original));
  await accepted(`/api/whatsapp/messages/${original}/reaction`, { emoji: '👍' });
  const reaction = (await arrived('reactionMessage')).message.reactionMessage!;
  assert.deepEqual([reaction.text, reaction.key?.id], ['👍', waMessageId]);

  await accepted(`/api/whatsapp/messages/${original}/edit`, { message: 'Edited text' });
  await accepted(`/api/whatsapp/messages/${original}`, {}, 'DELETE');
  const protocol = await until(() => {
    const found = sim.inbox(contact.number).filter((m) => m.type === 'protocolMessage' || m.type === 'editedMessage');
    return found.length >= 2 ? found : undefined;
  }, 'the edit and the delete at the phone');
  const describe = (m: InboxEntry) => {
    const p = m.message.protocolMessage ?? m.message.editedMessage?.message?.protocolMessage;
    return { type: p?.type, key: p?.key?.id, text: p?.editedMessage?.conversation ?? p?.editedMessage?.extendedTextMessage?.text };
  };
  const [edit, revoke] = protocol.map(describe);
  assert.deepEqual(edit, { type: 14, key: waMessageId, text: 'Edited text' }, 'MESSAGE_EDIT of the original');
  assert.equal(revoke!.type, 0, 'REVOKE');
  assert.equal(revoke!.key, waMessageId);
});

test('sendAt holds a message until its time; priority lets a later message jump the queue', { timeout: 90_000 }, async () => {
  const contact = sim.createPhone('6281300000111');
  const texts = () => sim.inbox(contact.number).map((m) => m.text);
  const at = new Date(Date.now() + 2500).toISOString();
  const scheduled = (await send({ sessionId: device.sessionId, phoneNumber: contact.number, message: 'scheduled', sendAt: at })).json().data.messageId;
  await new Promise((resolve) => setTimeout(resolve, 1200));
  assert.deepEqual(texts(), [], 'not before its time');
  assert.equal((await statusOf(scheduled)).status, 'queued');
  await until(() => (texts().includes('scheduled') ? true : undefined), 'sent at its time');
  assert.ok(Date.now() >= Date.parse(at) - 100);

  // Six marketing messages wait their turn (one per SEND_MIN_INTERVAL); a one-time code sent after them goes first.
  // All are due at the same moment, so that what is measured is the queue's order, not how fast each was dispatched.
  const due = new Date(Date.now() + 1500).toISOString();
  for (let i = 0; i < 6; i++) await send({ sessionId: device.sessionId, phoneNumber: contact.number, message: `promo ${i}`, sendAt: due });
  await send({ sessionId: device.sessionId, phoneNumber: contact.number, message: 'code 123456', priority: 10, sendAt: due });
  await until(() => (texts().length >= 8 ? true : undefined), 'all arrived');
  const order = texts().slice(1);
  assert.ok(order.indexOf('code 123456') <= 2, `the code went ahead: ${JSON.stringify(order)}`);
});

test('numbers and groups through the live session: check-number (seed 003 and batch), groups with our role, members', { timeout: 60_000 }, async () => {
  const member = sim.createPhone('6281300000112');
  const group = sim.createGroup('Shop team', [device.number, member.number]);
  const ask = (method: 'GET' | 'POST', url: string, payload?: object) =>
    platform.request({ method, url, headers: bearer(user.token), ...(payload ? { payload } : {}) });

  const batch = await ask('POST', `/api/whatsapp/devices/${device.id}/check-numbers`, { phoneNumbers: [`+${member.number}`, '6289999999999', 'nope'] });
  assert.equal(batch.statusCode, 200, batch.body);
  assert.deepEqual(
    batch.json().data.map((r: { phoneNumber: string; onWhatsApp: boolean; error?: string }) => [r.phoneNumber, r.onWhatsApp, r.error ?? null]),
    [[`+${member.number}`, true, null], ['6289999999999', false, null], ['nope', false, 'INVALID_PHONE_NUMBER']],
  );
  const seed3 = await ask('POST', `/api/sessions/${device.id}/check-number`, { number: member.number });
  assert.deepEqual(seed3.json(), { success: true, number: member.number, on_whatsapp: true, verified: false, verified_name: null });
  // A business name the session learned (Baileys reports it with the contact), as the session host records it.
  const memberJid = `${member.number}@s.whatsapp.net`;
  await appendToStream(platform.app.orm.em.fork(), streamOf.contacts(device.id), [{ event: { type: 'contact.updated', data: { jid: memberJid, verifiedName: 'Shop Supplies Ltd', source: 'contact' } } }], {
    expectedVersion: 'any',
    metadata: { tenantId: user.id, deviceId: device.id, sessionId: device.sessionId },
  });
  const named = await until(async () => {
    const answer = (await ask('POST', `/api/sessions/${device.id}/check-number`, { number: member.number })).json();
    return answer.verified_name ? answer : undefined;
  }, 'the verified name in check-number');
  assert.deepEqual([named.verified, named.verified_name], [false, 'Shop Supplies Ltd']);

  const groups = (await ask('GET', `/api/whatsapp/devices/${device.id}/groups`)).json().data;
  const mine = groups.find((g: { jid: string }) => g.jid === group.jid);
  assert.deepEqual([mine.name, mine.participantCount, mine.isAdmin, mine.isSuperAdmin], ['Shop team', 2, true, true], 'the device created it');
  const seed3Groups = (await ask('GET', `/api/sessions/${device.id}/groups`)).json();
  const listed = seed3Groups.groups.find((g: { jid: string }) => g.jid === group.jid);
  assert.equal(seed3Groups.count, seed3Groups.groups.length);
  assert.deepEqual([listed.name, listed.participant_count, listed.is_admin], ['Shop team', 2, true]);
  const members = (await ask('GET', `/api/whatsapp/devices/${device.id}/groups/${group.jid}/members`)).json().data;
  assert.deepEqual(
    members.map((m: { jid: string; role: string }) => [m.jid.split('@')[0], m.role]).sort(),
    [[device.number, 'superadmin'], [member.number, 'member']].sort(),
  );

  const unlinked = (await ask('POST', '/api/sessions', { name: 'not-running' })).json();
  const refused = await ask('POST', `/api/sessions/${unlinked.id}/check-number`, { number: member.number });
  assert.equal(refused.statusCode, 409);
  assert.equal(refused.json().code, 'DEVICE_NOT_CONNECTED');
});

// Last: it moves the platform's clock.
test('a session down past SEND_MAX_WAIT fails its message with DEVICE_NOT_CONNECTED', { timeout: 90_000 }, async () => {
  const flaky = await linkDevice(platform, sim, user.token, 'flaky', '6281300000002');
  const contact = sim.createPhone('6281300000107');
  // WhatsApp turns the session away: it stays held but disconnected, and its message waits.
  sim.fault([...sim.devices.keys()].find((j) => j.startsWith(`${flaky.number}:`))!, 'refuse', 60_000);
  await until(async () => {
    const res = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${flaky.id}`, headers: bearer(user.token) });
    return res.json().data.status !== 'connected' ? true : undefined;
  }, 'disconnected');
  const waiting = (await send({ sessionId: flaky.sessionId, phoneNumber: contact.number, message: 'Will wait' })).json().data.messageId;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal((await statusOf(waiting)).status, 'queued');
  platform.advance(11 * 60_000);
  const failed = await until(async () => {
    const s = await statusOf(waiting);
    return s.status === 'failed' ? s : undefined;
  }, 'failed after the wait', 20_000);
  assert.match(failed.error, /disconnected too long/);
  assert.equal(sim.inbox(contact.number).length, 0);
});
