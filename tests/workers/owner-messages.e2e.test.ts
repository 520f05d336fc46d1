import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WhatsAppSimulator } from '../../simulator/server.ts';
import { sqlOf } from '../../src/events/event-store.ts';
import { bearer, type TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';
import { useLinkedPlatform, type LinkedDevice } from '../helpers/whatsapp.ts';

// What the account's owner writes on the phone reaches the platform as WhatsApp copies it to the account's
// companions (`fromMe`, from a device that is not us): recorded as `message.sent-by-owner` (the AI bot's human
// takeover listens for it) and shown in the chat's history as outgoing; our own sends stay receipts only.
let sim: WhatsAppSimulator;
let platform: TestPlatform;
let user: { id: number; username: string; token: string };
let device: LinkedDevice;
useLinkedPlatform({}, { username: 'owner', alias: 'shop', number: '6281400000001' }, (linked) => ({ sim, platform, user, device } = linked));

interface Row {
  type: string;
  data: Record<string, unknown>;
}
const eventsWith = async (waMessageId: string): Promise<Row[]> =>
  (await sqlOf(platform.app.orm.em.fork())(`select type, data from events where device_id = ? and data->>'waMessageId' = ? order by global_position`, [device.id, waMessageId])) as unknown as Row[];
const ownerEventsOf = async (waMessageId: string) => (await eventsWith(waMessageId)).filter((e) => e.type === 'message.sent-by-owner');
const historyOf = async (contact: string) => {
  const res = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${device.id}/messages/${contact}`, headers: bearer(user.token) });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().data.items as Record<string, unknown>[];
};
const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

test('a text the owner types on the phone is recorded once as message.sent-by-owner and shows in the chat as outgoing', { timeout: 60_000 }, async () => {
  const contact = sim.createPhone('6281400000101');
  const waMessageId = sim.sendFromPhone(device.number, contact.number, 'Typed on the phone');
  const [event] = await until(async () => {
    const found = await ownerEventsOf(waMessageId);
    return found.length ? found : undefined;
  }, 'message.sent-by-owner');
  assert.match(String(event!.data.messageId), /^own_[\w-]{22}$/);
  assert.equal(event!.data.chatJid, `${contact.number}@s.whatsapp.net`);
  assert.equal(event!.data.text, 'Typed on the phone');
  assert.equal(event!.data.messageType, 'conversation');
  assert.ok(Number(event!.data.timestamp) > 0);

  const item = await until(async () => (await historyOf(contact.number)).find((m) => m.waMessageId === waMessageId), 'in the chat history');
  assert.equal(item.messageId, event!.data.messageId);
  assert.equal(item.direction, 'out');
  assert.equal(item.status, 'sent');
  assert.equal(item.body, 'Typed on the phone');
  assert.equal(item.type, 'text');
  assert.equal(item.chatJid, `${contact.number}@s.whatsapp.net`);
  assert.ok(item.sentAt);

  await settle();
  assert.deepEqual((await eventsWith(waMessageId)).map((e) => e.type), ['message.sent-by-owner'], 'recorded once, nothing else');
});

test('a LID-addressed copy names the chat by the contact’s number: from its other form, else from the LID map', { timeout: 60_000 }, async () => {
  const contact = sim.createPhone('6281400000102');
  // The second copy names the contact by LID alone, known by then from the first one's `peer_recipient_pn` (Baileys
  // keeps the pair in its LID map).
  for (const [text, withAlt] of [['Answered on the phone', true], ['And again', false]] as const) {
    const waMessageId = sim.sendFromPhone(device.number, contact.number, text, { addressing: 'lid', withAlt });
    const [event] = await until(async () => {
      const found = await ownerEventsOf(waMessageId);
      return found.length ? found : undefined;
    }, `message.sent-by-owner: ${text}`);
    assert.equal(event!.data.chatJid, `${contact.number}@s.whatsapp.net`, text);
    assert.equal(event!.data.text, text);
  }
  const history = await until(async () => {
    const items = await historyOf(contact.number);
    return items.length === 2 ? items : undefined;
  }, 'both messages in the chat');
  assert.deepEqual(history.map((m) => [m.direction, m.body]).sort(), [['out', 'And again'], ['out', 'Answered on the phone']]);
});

test('a message sent through the API is no owner message, and its receipts still move it to read', { timeout: 60_000 }, async () => {
  const contact = sim.createPhone('6281400000103');
  sim.setReceipts(contact.number, { policy: 'read', delayMs: 200 });
  const res = await platform.request({ method: 'POST', url: '/api/whatsapp/send', headers: bearer(user.token), payload: { sessionId: device.sessionId, phoneNumber: contact.number, message: 'Sent by the platform' } });
  assert.equal(res.statusCode, 202, res.body);
  const { messageId } = res.json().data;
  const status = await until(async () => {
    const s = (await platform.request({ method: 'GET', url: `/api/whatsapp/messages/${messageId}/status`, headers: bearer(user.token) })).json().data;
    return s.status === 'read' ? s : undefined;
  }, 'read');
  assert.ok(status.deliveredAt);
  await settle();
  const [sent] = (await sqlOf(platform.app.orm.em.fork())(`select data->>'waMessageId' as wa from events where stream_id = ? and type = 'message.sent'`, [`message-${messageId}`])) as { wa: string }[];
  assert.ok(sent?.wa);
  assert.deepEqual(await ownerEventsOf(sent.wa), []);
  assert.deepEqual((await historyOf(contact.number)).map((m) => [m.messageId, m.direction, m.status]), [[messageId, 'out', 'read']]);
  // The owner's messages of the tests before are history, not sending: the stats count this one alone.
  const stats = (await platform.request({ method: 'GET', url: `/api/whatsapp/users/${user.username}/sending-stats`, headers: bearer(user.token) })).json().data;
  assert.deepEqual([stats.totalSent, stats.byStatus.queued, stats.byStatus.read], [1, 1, 1], JSON.stringify(stats));
});

test('a contact writing to the owner is still message.received, not an owner message', { timeout: 60_000 }, async () => {
  const contact = sim.createPhone('6281400000104');
  const waMessageId = sim.sendFromPhone(contact.number, device.number, 'Is this the shop?');
  const received = await until(async () => (await eventsWith(waMessageId)).find((e) => e.type === 'message.received'), 'message.received');
  assert.equal(received.data.chatJid, `${contact.number}@s.whatsapp.net`);
  assert.match(String(received.data.messageId), /^in_/);
  await settle();
  assert.deepEqual(await ownerEventsOf(waMessageId), []);
});
