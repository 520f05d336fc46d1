import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { sqlOf } from '../../src/events/event-store.ts';
import type { WhatsAppSimulator } from '../../simulator/server.ts';
import { startFakeLlm, type ReplyFunction } from '../helpers/fake-llm.ts';
import { ADMIN_TOKEN, bearer, type TestPlatform } from '../helpers/platform.ts';
import { startReceiver } from '../helpers/receivers.ts';
import { until } from '../helpers/wait.ts';
import { linkDevice, useLinkedPlatform, type LinkedDevice } from '../helpers/whatsapp.ts';

// AI auto-replies end to end: contacts' phones in the simulator write to a device whose AI answers through a local
// server speaking the OpenAI wire format (streamed), with the real `openai` SDK; the replies go out through the
// normal send pipeline and are read back at the phones.

// A model that remembers only what its prompt holds: it answers "what is my name" from the conversation it is given.
const brain: ReplyFunction = (call) => {
  const last = call.messages.findLast((m) => m.role === 'user')?.text ?? '';
  if (/what is my name/i.test(last)) {
    const name = call.messages.map((m) => /my name is (\w+)/i.exec(m.text)?.[1]).findLast(Boolean);
    return { text: name ? `Your name is ${name}.` : 'I do not know your name.' };
  }
  return { text: `Got: ${last}` };
};
const fake = await startFakeLlm({ reply: brain });
after(() => fake.close());

const DEVICE_NUMBER = '6281570000001';
let sim: WhatsAppSimulator;
let platform: TestPlatform;
let user: { id: number; username: string; token: string };
let device: LinkedDevice;
useLinkedPlatform(
  { SEND_MIN_INTERVAL: '100ms', OPENAI_API_KEY: fake.apiKey!, OPENAI_BASE_URL: fake.openaiBaseUrl, AI_ATTEMPTS: '3', ALLOW_PRIVATE_WEBHOOKS: 'true' },
  { username: 'bakery', alias: 'bakery', number: DEVICE_NUMBER },
  (linked) => ({ sim, platform, user, device } = linked),
);

const admin = { 'x-admin-token': ADMIN_TOKEN };
const AI_ON = { aiEnabled: true, autoReply: true, provider: 'openai', model: 'gpt-4o-mini', debounceSeconds: 2, typing: false, maxRepliesPerHour: 5 };
let contacts = 0;
const newContact = () => {
  const number = `62815799${String(++contacts).padStart(5, '0')}`;
  sim.createPhone(number);
  return number;
};
const jidOf = (number: string) => `${number}@s.whatsapp.net`;
// What the model wrote to a phone (the owner's own messages reach it from the same number).
const repliesAt = (number: string) =>
  sim
    .inbox(number)
    .filter((m) => m.from.startsWith(DEVICE_NUMBER) && /^(Got:|Your name|I do not)/.test(m.text))
    .map((m) => m.text);
const settle = (ms = 3000) => new Promise((resolve) => setTimeout(resolve, ms));
const sql = () => sqlOf(platform.app.orm.em.fork());
const chatEvents = async (deviceId: number, chatJid: string): Promise<Record<string, any>[]> =>
  (await sql()(`select type, data from events where type like 'ai.%' and device_id = ? and data->>'chatJid' = ? order by global_position`, [deviceId, chatJid])).map(
    (row) => ({ type: String(row.type), ...(row.data as Record<string, unknown>) }),
  );
const usageOf = async (chatJid: string) =>
  sql()(`select input_tokens, output_tokens, cost::float8 as cost, outcome from ai_usage_logs where chat_jid = ? order by id`, [chatJid]);

async function setAi(linked: LinkedDevice, settings: Record<string, unknown>) {
  const res = await platform.request({ method: 'PUT', url: `/api/whatsapp/devices/${linked.id}/settings/ai`, headers: bearer(user.token), payload: settings });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().data;
}

async function replyTo(number: string, text: string, count = 1): Promise<string[]> {
  const before = repliesAt(number).length;
  sim.sendFromPhone(number, DEVICE_NUMBER, text);
  return until(() => (repliesAt(number).length >= before + count ? repliesAt(number).slice(before) : undefined), `${count} repl(ies) to "${text}"`, 30_000);
}

test('AI settings: seed 004 shape, validation, and a usable model required to turn it on', async () => {
  const url = `/api/whatsapp/devices/${device.id}/settings/ai`;
  const initial = (await platform.request({ method: 'GET', url, headers: bearer(user.token) })).json().data;
  assert.deepEqual([initial.aiEnabled, initial.autoReply, initial.provider, initial.ignoreGroups], [false, false, null, true]);
  const put = (payload: object) => platform.request({ method: 'PUT', url, headers: bearer(user.token), payload });
  const unknown = await put({ aiEnabled: true, provider: 'openai', model: 'gpt-9' });
  assert.deepEqual([unknown.statusCode, unknown.json().code], [400, 'INVALID_AI_CONFIG']);
  const noModel = await put({ aiEnabled: true });
  assert.deepEqual([noModel.statusCode, noModel.json().code], [400, 'INVALID_AI_CONFIG']);
  const badRegex = await put({ trigger: { type: 'regex', pattern: '(' } });
  assert.deepEqual([badRegex.statusCode, badRegex.json().code], [400, 'INVALID_AI_CONFIG']);
  for (const payload of [{ temperature: 3 }, { customRules: [''] }, { surprise: true }, { trigger: { type: 'keyword', operator: 'like', keywords: ['x'] } }]) {
    const res = await put(payload);
    assert.deepEqual([res.statusCode, res.json().code], [400, 'VALIDATION_ERROR'], JSON.stringify(payload));
  }
  assert.deepEqual((await platform.request({ method: 'GET', url, headers: bearer(user.token) })).json().data, initial, 'refusals changed nothing');
  // The seed's own body.
  const seed = await put({ aiEnabled: true, autoReply: true, provider: 'openai', model: 'gpt-4o-mini', temperature: 0.8, customRules: ['Be professional and friendly', 'Focus on customer satisfaction'] });
  assert.equal(seed.statusCode, 200, seed.body);
  assert.deepEqual(seed.json().data.customRules, ['Be professional and friendly', 'Focus on customer satisfaction']);
  await setAi(device, AI_ON);
  const other = await platform.request({ method: 'GET', url: `/api/whatsapp/devices/999999/settings/ai`, headers: bearer(user.token) });
  assert.equal(other.statusCode, 404);
});

test('a contact writes and the model answers; memory carries a fact across turns; clearing memory forgets it', { timeout: 120_000 }, async () => {
  const ana = newContact();
  const calls = fake.requests.length;
  assert.deepEqual(await replyTo(ana, 'Hi, my name is Ana'), ['Got: Hi, my name is Ana']);
  assert.deepEqual(await replyTo(ana, 'What is my name?'), ['Your name is Ana.']);
  const second = fake.requests[calls + 1]!;
  const sent = (second.body as { messages: { role: string; content: string }[]; stream: boolean; temperature: number }).messages;
  assert.deepEqual(
    sent.filter((m) => m.role !== 'system').map((m) => [m.role, m.content]),
    [
      ['user', 'Hi, my name is Ana'],
      ['assistant', 'Got: Hi, my name is Ana'],
      ['user', 'What is my name?'],
    ],
  );
  assert.equal((second.body as { stream: boolean }).stream, true, 'replies stream');
  assert.match(sent[0]!.content, /Be professional and friendly|answering WhatsApp messages/);

  const cleared = await platform.request({ method: 'DELETE', url: `/api/whatsapp/${device.id}/${jidOf(ana)}/memory`, headers: bearer(user.token) });
  assert.equal(cleared.statusCode, 200, cleared.body);
  assert.deepEqual(await replyTo(ana, 'What is my name?'), ['I do not know your name.']);

  const events = (await chatEvents(device.id, jidOf(ana))).map((e) => e.type);
  assert.deepEqual(events, ['ai.reply-requested', 'ai.replied', 'ai.reply-requested', 'ai.replied', 'ai.memory-cleared', 'ai.reply-requested', 'ai.replied']);
  // Token counts are the provider's own report, priced by the model.
  const answers = fake.requests.slice(calls).map((r) => r.answer.reply!);
  const usage = await usageOf(jidOf(ana));
  assert.deepEqual(
    usage.map((u) => [u.input_tokens, u.output_tokens, u.outcome]),
    answers.map((a) => [a.inputTokens, a.outputTokens, 'ok']),
  );
  assert.ok(usage.every((u) => Number(u.cost) > 0));

  const conversation = (await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${device.id}/chat-settings/%2B${ana}/conversation`, headers: bearer(user.token) })).json().data;
  assert.deepEqual(
    conversation.messages.map((m: { role: string; text: string }) => [m.role, m.text]),
    [
      ['user', 'What is my name?'],
      ['assistant', 'I do not know your name.'],
    ],
    'the conversation since the memory was cleared',
  );
  const stats = (await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${device.id}/chat-settings/%2B${ana}/stats`, headers: bearer(user.token) })).json().data;
  assert.deepEqual([stats.status, stats.messagesReceived, stats.messagesSent, stats.aiReplies, stats.aiFailures], ['open', 3, 3, 3, 0]);
});

test('a burst of 4 messages in 3 s gets one reply, to all of them', { timeout: 60_000 }, async () => {
  const ben = newContact();
  for (const [i, text] of ['hello', 'I have a question', 'about opening hours', 'on sunday'].entries()) {
    if (i) await settle(1000);
    sim.sendFromPhone(ben, DEVICE_NUMBER, text);
  }
  await until(() => (repliesAt(ben).length ? true : undefined), 'the reply to the burst');
  await settle(3000);
  assert.deepEqual(repliesAt(ben), ['Got: hello\nI have a question\nabout opening hours\non sunday']);
  const requested = (await chatEvents(device.id, jidOf(ben))).filter((e) => e.type === 'ai.reply-requested');
  assert.equal(requested.length, 1);
  assert.equal((requested[0]!.messageIds as string[]).length, 4);
});

test('a group message gets no reply; a reaction neither', { timeout: 60_000 }, async () => {
  const cleo = newContact();
  const group = sim.createGroup('Neighbours', [cleo, DEVICE_NUMBER]);
  sim.sendGroupFromPhone(cleo, group.jid, 'anyone selling bread?');
  await until(async () => ((await sql()(`select 1 from events where type = 'message.received' and data->>'chatJid' = ?`, [group.jid])).length ? true : undefined), 'the group message recorded');
  await settle(3500);
  assert.equal(sim.inbox(cleo).filter((m) => m.group === group.jid).length, 0, 'nothing written to the group');
  assert.deepEqual(await chatEvents(device.id, group.jid), []);
});

test('the owner typing on the phone pauses the bot in that chat, which resumes after the pause; /bot off holds until /bot on', { timeout: 120_000 }, async () => {
  await setAi(device, { takeoverPauseMinutes: 0.1 });
  try {
    const dan = newContact();
    assert.deepEqual(await replyTo(dan, 'do you deliver?'), ['Got: do you deliver?']);
    sim.sendFromPhone(DEVICE_NUMBER, dan, 'Hi Dan, this is Maria, I will take it from here');
    const paused = await until(async () => (await chatEvents(device.id, jidOf(dan))).find((e) => e.type === 'ai.paused'), 'the bot paused');
    assert.equal(paused.reason, 'human-takeover');
    const pausedAt = Date.now();
    sim.sendFromPhone(dan, DEVICE_NUMBER, 'great, thanks Maria');
    await settle(3500);
    assert.deepEqual(repliesAt(dan), ['Got: do you deliver?'], 'no reply while paused');
    await settle(Math.max(0, pausedAt + 6500 - Date.now()));
    // The model sees what was said meanwhile: the contact's message while paused joins the new one.
    assert.deepEqual(await replyTo(dan, 'are you there?'), ['Got: great, thanks Maria\nare you there?'], 'the pause ended');
    assert.ok((await chatEvents(device.id, jidOf(dan))).some((e) => e.type === 'ai.resumed' && e.reason === 'pause-ended'));

    sim.sendFromPhone(DEVICE_NUMBER, dan, '/bot off');
    await until(async () => ((await chatEvents(device.id, jidOf(dan))).some((e) => e.type === 'ai.paused' && e.reason === 'owner-command') ? true : undefined), '/bot off');
    sim.sendFromPhone(dan, DEVICE_NUMBER, 'hello?');
    await settle(8000);
    assert.equal(repliesAt(dan).length, 2, '/bot off outlasts the takeover pause');
    sim.sendFromPhone(DEVICE_NUMBER, dan, '/bot on');
    await until(async () => ((await chatEvents(device.id, jidOf(dan))).some((e) => e.type === 'ai.resumed' && e.reason === 'owner-command') ? true : undefined), '/bot on');
    assert.deepEqual(await replyTo(dan, 'back?'), ['Got: hello?\nback?']);
  } finally {
    await setAi(device, { takeoverPauseMinutes: 60 });
  }
});

test('a person sending through the API pauses the bot too; the AI’s own replies do not', { timeout: 60_000 }, async () => {
  const eve = newContact();
  assert.deepEqual(await replyTo(eve, 'hi'), ['Got: hi']);
  assert.ok(!(await chatEvents(device.id, jidOf(eve))).some((e) => e.type === 'ai.paused'), 'its own reply paused nothing');
  const sent = await platform.request({ method: 'POST', url: '/api/whatsapp/send', headers: bearer(user.token), payload: { sessionId: device.sessionId, phoneNumber: `+${eve}`, message: 'Maria here, how can I help?' } });
  assert.ok([200, 201, 202].includes(sent.statusCode), sent.body);
  await until(async () => ((await chatEvents(device.id, jidOf(eve))).some((e) => e.type === 'ai.paused' && e.reason === 'human-takeover') ? true : undefined), 'paused by the API send');
  const view = (await platform.request({ method: 'GET', url: `/api/whatsapp/devices/${device.id}/chat-settings/%2B${eve}`, headers: bearer(user.token) })).json().data;
  assert.deepEqual([view.status, view.statusReason], ['paused', 'human-takeover']);
  // The owner resumes it through the API.
  const resumed = await platform.request({ method: 'PUT', url: `/api/whatsapp/devices/${device.id}/chat-settings/%2B${eve}`, headers: bearer(user.token), payload: { status: 'open' } });
  assert.equal(resumed.json().data.status, 'open');
  assert.deepEqual(await replyTo(eve, 'thanks'), ['Got: thanks']);
});

test('a reply loop between two of our own AI devices stops at the hourly cap', { timeout: 120_000 }, async () => {
  const other = await linkDevice(platform, sim, user.token, 'bakery-2', '6281570000002');
  await setAi(other, { ...AI_ON, debounceSeconds: 0.5, takeoverPauseMinutes: 0, maxRepliesPerHour: 3 });
  await setAi(device, { debounceSeconds: 0.5, maxRepliesPerHour: 3 });
  try {
    const sent = await platform.request({ method: 'POST', url: '/api/whatsapp/send', headers: bearer(user.token), payload: { sessionId: other.sessionId, phoneNumber: `+${DEVICE_NUMBER}`, message: 'ping' } });
    assert.ok(sent.statusCode < 300, sent.body);
    // The first side to reach its cap pauses; the other hears nothing more, and the loop ends.
    const capped = async () =>
      (await chatEvents(device.id, jidOf(other.number))).some((e) => e.reason === 'reply-cap') || (await chatEvents(other.id, jidOf(DEVICE_NUMBER))).some((e) => e.reason === 'reply-cap');
    await until(async () => ((await capped()) ? true : undefined), 'one side capped', 60_000);
    await settle(3000);
    const replied = async (id: number, chat: string) => (await chatEvents(id, chat)).filter((e) => e.type === 'ai.replied').length;
    assert.equal(await replied(device.id, jidOf(other.number)), 3);
    assert.equal(await replied(other.id, jidOf(DEVICE_NUMBER)), 3);
  } finally {
    await setAi(device, { debounceSeconds: 2, maxRepliesPerHour: 5 });
  }
});

test('a provider answering 429 then 200: one reply, two attempts logged; a provider down: failed with AI_PROVIDER_ERROR, nothing sent', { timeout: 120_000 }, async () => {
  const fay = newContact();
  fake.script({ status: 429, retryAfter: 1 });
  assert.deepEqual(await replyTo(fay, 'busy?'), ['Got: busy?']);
  assert.deepEqual((await usageOf(jidOf(fay))).map((u) => u.outcome), ['error', 'ok']);
  const replied = (await chatEvents(device.id, jidOf(fay))).find((e) => e.type === 'ai.replied')!;
  assert.equal(replied.attempts, 2);

  const gus = newContact();
  fake.script({ status: 500 }, { status: 500 }, { status: 500 });
  sim.sendFromPhone(gus, DEVICE_NUMBER, 'anyone?');
  const failed = await until(async () => (await chatEvents(device.id, jidOf(gus))).find((e) => e.type === 'ai.failed'), 'the reply given up', 60_000);
  assert.deepEqual([failed.code, failed.attempts], ['AI_PROVIDER_ERROR', 3]);
  assert.deepEqual((await usageOf(jidOf(gus))).map((u) => u.outcome), ['error', 'error', 'error']);
  await settle(1500);
  assert.deepEqual(repliesAt(gus), []);
});

test('costs: crossing the daily limit stops replies with AI_COST_LIMIT_EXCEEDED and an alert webhook', { timeout: 120_000 }, async () => {
  const receiver = await startReceiver();
  try {
    const hook = await platform.request({ method: 'POST', url: '/api/whatsapp/webhooks', headers: bearer(user.token), payload: { url: receiver.url, events: ['ai.*'] } });
    assert.equal(hook.statusCode, 201, hook.body);
    const models = (await platform.request({ method: 'GET', url: '/api/whatsapp/admin/ai/models', headers: admin })).json().data;
    const mini = (Array.isArray(models) ? models : models.items).find((m: { name: string }) => m.name === 'gpt-4o-mini');
    const priced = await platform.request({ method: 'PUT', url: `/api/whatsapp/admin/ai/models/${mini.id}`, headers: admin, payload: { inputCost: 1, outputCost: 1 } });
    assert.equal(priced.statusCode, 200, priced.body);
    const spent = await sql()(`select coalesce(sum(cost), 0)::float8 as spent from ai_usage_logs where user_id = ?`, [user.id]);
    const limit = await platform.request({ method: 'PUT', url: '/api/whatsapp/admin/ai/cost-alerts', headers: admin, payload: { userId: user.username, dailyLimit: Number(spent[0]!.spent) + 0.001 } });
    assert.equal(limit.statusCode, 200, limit.body);

    const hal = newContact();
    assert.deepEqual(await replyTo(hal, 'first question'), ['Got: first question'], 'under the limit');
    sim.sendFromPhone(hal, DEVICE_NUMBER, 'second question');
    const failed = await until(async () => (await chatEvents(device.id, jidOf(hal))).find((e) => e.type === 'ai.failed'), 'the reply refused');
    assert.equal(failed.code, 'AI_COST_LIMIT_EXCEEDED');
    const alert = await until(() => receiver.requests.map((r) => JSON.parse(r.body)).find((p) => (p.type ?? p.event) === 'ai.cost-limit-reached'), 'the alert webhook');
    assert.deepEqual([alert.data.scope, alert.data.period], ['user', 'daily']);
    const alerts = (await platform.request({ method: 'GET', url: '/api/whatsapp/admin/ai/cost-alerts', headers: admin })).json().data.alerts;
    assert.ok(alerts.some((a: { type: string; triggered: boolean }) => a.type === 'daily_limit' && a.triggered));
    assert.equal(repliesAt(hal).length, 1);
  } finally {
    await platform.request({ method: 'PUT', url: '/api/whatsapp/admin/ai/cost-alerts', headers: admin, payload: { userId: user.username, dailyLimit: null } });
    await receiver.close();
  }
});
