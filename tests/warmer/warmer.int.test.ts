import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Queue } from 'bullmq';
import { sqlOf } from '../../src/events/event-store.ts';
import { bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';

// The warmer's API: validation that changes nothing, tenancy (another user's campaign answers as a missing one), the
// status rules with the waiting step's job following them, and the shapes of stats, logs, devices and defaults.
let platform: TestPlatform;
let queue: Queue;
let alice: { id: number; token: string };
let bob: { id: number; token: string };
let aliceDevice: number;
let aliceOther: number;
let bobDevice: number;

const sql = () => sqlOf(platform.app.orm.em.fork());
// Devices the session host leaves alone (stopped), as if linked: connected, with a number.
async function device(userId: number, alias: string, phoneNumber: string | null, status = 'connected'): Promise<number> {
  const [row] = await sql()(
    `insert into devices (user_id, alias, session_id, status, desired_state, phone_number, created_at) values (?, ?, ?, ?, 'stopped', ?, now()) returning id`,
    [userId, alias, `user_${userId}_${alias}`, status, phoneNumber],
  );
  return Number(row!.id);
}

before(async () => {
  platform = await startTestPlatform();
  queue = platform.app.queueBackend.queue('warmer');
  alice = await createUser(platform, 'warmer-alice');
  bob = await createUser(platform, 'warmer-bob');
  aliceDevice = await device(alice.id, 'new-number', '+15550000001');
  aliceOther = await device(alice.id, 'old-number', '+15550000002');
  await device(alice.id, 'offline', '+15550000003', 'disconnected');
  bobDevice = await device(bob.id, 'bobs', '+15550000009');
});
after(async () => {
  await queue.close();
  await platform.close();
});

const call = (token: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
  platform.request({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
const valid = () => ({
  name: 'Warm up',
  deviceId: aliceDevice,
  targetNumbers: ['+15550000002', '+6281234567890'],
  schedule: { startDate: tomorrow(), endDate: tomorrow(), timesPerDay: [{ time: '09:00', count: 2 }] },
  settings: { randomizeDelay: true, minDelay: 300, maxDelay: 900, naturalTyping: true },
});
const count = async (table: string) => Number((await sql()(`select count(*)::int as n from ${table === 'scripts' ? 'warmer_scripts' : 'warmer_campaigns'}`))[0]!.n);
const create = async (overrides: object = {}) => {
  const res = await call(alice.token, 'POST', '/api/warmer/campaigns', { ...valid(), ...overrides });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().data;
};

test('creating: every bad input is a 400 with its code, and makes nothing', async () => {
  const base = valid();
  const refusals: [object, number, string][] = [
    [{ targetNumbers: [] }, 400, 'VALIDATION_ERROR'],
    [{ targetNumbers: ['not a number'] }, 400, 'INVALID_PHONE_NUMBER'],
    [{ targetNumbers: ['+15550000001'] }, 400, 'VALIDATION_ERROR'],
    [{ schedule: { ...base.schedule, startDate: '2026-01-19', endDate: '2026-01-18' } }, 400, 'VALIDATION_ERROR'],
    [{ schedule: { ...base.schedule, startDate: '2026-02-30' } }, 400, 'VALIDATION_ERROR'],
    [{ schedule: { ...base.schedule, timesPerDay: [{ time: '25:00', count: 1 }] } }, 400, 'VALIDATION_ERROR'],
    [{ schedule: { ...base.schedule, timesPerDay: [{ time: '09:00', count: 0 }] } }, 400, 'VALIDATION_ERROR'],
    [{ schedule: { ...base.schedule, timesPerDay: [{ time: '09:00', count: 51 }] } }, 400, 'VALIDATION_ERROR'],
    [{ schedule: { ...base.schedule, timesPerDay: [] } }, 400, 'VALIDATION_ERROR'],
    [{ settings: { minDelay: 900, maxDelay: 300 } }, 400, 'VALIDATION_ERROR'],
    [{ settings: { minDelay: -1 } }, 400, 'VALIDATION_ERROR'],
    [{ name: '' }, 400, 'VALIDATION_ERROR'],
    [{ status: 'paused' }, 400, 'VALIDATION_ERROR'],
    [{ surprise: true }, 400, 'VALIDATION_ERROR'],
    [{ deviceId: bobDevice }, 404, 'DEVICE_NOT_FOUND'],
    [{ deviceId: 999_999 }, 404, 'DEVICE_NOT_FOUND'],
  ];
  const before = await count('campaigns');
  for (const [overrides, status, code] of refusals) {
    const res = await call(alice.token, 'POST', '/api/warmer/campaigns', { ...base, ...overrides });
    assert.deepEqual([res.statusCode, res.json().code, res.json().success], [status, code, false], `${JSON.stringify(overrides)}: ${res.body}`);
    assert.equal(typeof res.json().error, 'string');
  }
  const { deviceId: _, ...noDevice } = base;
  assert.equal((await call(alice.token, 'POST', '/api/warmer/campaigns', noDevice)).statusCode, 400);
  assert.equal(await count('campaigns'), before, 'refusals made nothing');
});

test('a campaign is a draft with integer id and its settings; only its owner sees or touches it', async () => {
  const made = await create({ targetNumbers: ['+1 555 000 0002', '+15550000002', '+0987654321'] });
  assert.equal(typeof made.id, 'number');
  assert.deepEqual([made.status, made.position, made.nextStepAt, made.templates], ['draft', null, null, []]);
  assert.deepEqual(made.targetNumbers, ['+15550000002', '+0987654321'], 'numbers normalized, once each; an unreachable one kept');
  assert.deepEqual(made.settings, valid().settings);
  const defaults = await create({ settings: undefined });
  assert.deepEqual(defaults.settings, { randomizeDelay: true, minDelay: 300, maxDelay: 900, naturalTyping: true });

  const listed = (await call(alice.token, 'GET', '/api/warmer/campaigns')).json().data.map((c: { id: number }) => c.id);
  assert.ok(listed.includes(made.id));
  assert.deepEqual((await call(bob.token, 'GET', '/api/warmer/campaigns')).json().data, []);
  const missing = await call(alice.token, 'GET', '/api/warmer/campaigns/999999');
  for (const [method, path, payload] of [
    ['GET', '', undefined],
    ['PUT', '', { name: 'mine now' }],
    ['DELETE', '', undefined],
    ['POST', '/pause', undefined],
    ['POST', '/resume', undefined],
    ['POST', '/stop', undefined],
    ['GET', '/stats', undefined],
    ['GET', '/logs', undefined],
    ['POST', '/templates', { name: 't', messages: [{ sender: 'bot', message: 'hi', delay: 0 }] }],
  ] as const) {
    const res = await call(bob.token, method, `/api/warmer/campaigns/${made.id}${path}`, payload);
    assert.deepEqual([res.statusCode, res.json().code], [404, missing.json().code], `${method} ${path}`);
  }
  const still = (await call(alice.token, 'GET', `/api/warmer/campaigns/${made.id}`)).json().data;
  assert.deepEqual([still.name, still.status, still.templates.length], ['Warm up', 'draft', 0], "another user's calls changed nothing");
});

test('status rules; the waiting step’s job follows start, pause, resume and stop', async () => {
  const { id } = await create();
  const action = (name: string) => call(alice.token, 'POST', `/api/warmer/campaigns/${id}/${name}`);
  for (const name of ['pause', 'resume']) {
    const res = await action(name);
    assert.deepEqual([res.statusCode, res.json().code], [409, 'INVALID_CAMPAIGN_STATE'], name);
  }

  const started = await call(alice.token, 'PUT', `/api/warmer/campaigns/${id}`, { name: 'Updated Campaign', status: 'active' });
  assert.equal(started.statusCode, 200, started.body);
  const active = started.json().data;
  assert.deepEqual([active.name, active.status], ['Updated Campaign', 'active']);
  assert.deepEqual(active.position, { day: 0, slot: 0, conversation: 0, step: 0, conversationNo: 0 });
  // The default script's first delay after 09:00 UTC tomorrow.
  assert.ok(Date.parse(active.nextStepAt) >= Date.parse(`${tomorrow()}T09:00:00Z`));
  const jobOf = (run: number) => `warmer-${id}-${run}-0-0-0-0`;
  const job = await until(() => queue.getJob(jobOf(1)), 'the first step queued');
  assert.ok((await job.getState()) === 'delayed');

  assert.deepEqual([(await action('resume')).statusCode], [409]);
  assert.equal((await call(alice.token, 'PUT', `/api/warmer/campaigns/${id}`, { schedule: valid().schedule })).json().code, 'INVALID_CAMPAIGN_STATE', 'no schedule change once started');
  assert.equal((await call(alice.token, 'PUT', `/api/warmer/campaigns/${id}`, { deviceId: aliceOther })).statusCode, 409);

  const paused = await action('pause');
  assert.equal(paused.json().data.status, 'paused');
  await until(async () => ((await queue.getJob(jobOf(1))) ? undefined : true), 'the waiting step removed');
  const resumed = (await action('resume')).json().data;
  assert.deepEqual([resumed.status, resumed.position], ['active', active.position], 'resumed where it was');
  await until(() => queue.getJob(jobOf(2)), 'the step queued again for the new run');

  const stopped = await action('stop');
  assert.equal(stopped.json().data.status, 'stopped');
  await until(async () => ((await queue.getJob(jobOf(2))) ? undefined : true), 'the waiting step removed on stop');
  // A PUT whose status is refused changes none of its other fields.
  const refused = await call(alice.token, 'PUT', `/api/warmer/campaigns/${id}`, { name: 'renamed', status: 'active' });
  assert.deepEqual([refused.statusCode, refused.json().code], [409, 'INVALID_CAMPAIGN_STATE']);
  assert.equal((await call(alice.token, 'GET', `/api/warmer/campaigns/${id}`)).json().data.name, 'Updated Campaign');
  for (const name of ['pause', 'resume', 'stop']) assert.equal((await action(name)).statusCode, 409, `${name} after stop`);

  const types = (await sql()(`select type from events where stream_id = ? order by global_position`, [`warmer-campaign-${id}`])).map((r) => r.type);
  assert.deepEqual(types, ['warmer.campaign-created', 'warmer.campaign-updated', 'warmer.started', 'warmer.paused', 'warmer.resumed', 'warmer.stopped']);
});

test('a campaign whose days are over completes at once; a device never linked cannot start', async () => {
  const past = await create({ schedule: { startDate: '2026-01-04', endDate: '2026-01-05', timesPerDay: [{ time: '09:00', count: 1 }] }, status: 'active' });
  assert.equal(past.status, 'completed');
  const unlinked = await device(alice.id, 'unlinked', null, 'pending');
  const res = await call(alice.token, 'POST', '/api/warmer/campaigns', { ...valid(), deviceId: unlinked, status: 'active' });
  assert.deepEqual([res.statusCode, res.json().code], [409, 'DEVICE_NOT_CONNECTED']);
});

test('scripts: a bot side and listed variables needed; shown with the campaign', async () => {
  const { id } = await create();
  const before = await count('scripts');
  for (const payload of [
    { name: 'only user', messages: [{ sender: 'user', message: 'hi', delay: 0 }] },
    { name: 'unlisted', messages: [{ sender: 'bot', message: 'Is {productName} in stock?', delay: 0 }], variables: [] },
    { name: 'bad sender', messages: [{ sender: 'admin', message: 'hi', delay: 0 }] },
    { name: 'bad delay', messages: [{ sender: 'bot', message: 'hi', delay: -5 }] },
    { name: 'empty', messages: [] },
  ]) {
    const res = await call(alice.token, 'POST', `/api/warmer/campaigns/${id}/templates`, payload);
    assert.deepEqual([res.statusCode, res.json().code], [400, 'VALIDATION_ERROR'], payload.name);
  }
  assert.equal(await count('scripts'), before);
  const script = {
    name: 'Product Inquiry',
    messages: [
      { sender: 'bot', message: 'Hi! Are you interested in {productName}?', delay: 1000 },
      { sender: 'user', message: 'Yes, tell me more', delay: 3000 },
    ],
    variables: ['productName'],
  };
  const added = await call(alice.token, 'POST', `/api/warmer/campaigns/${id}/templates`, script);
  assert.equal(added.statusCode, 201, added.body);
  assert.deepEqual({ ...added.json().data, id: undefined }, { ...script, id: undefined });
  assert.deepEqual((await call(alice.token, 'GET', `/api/warmer/campaigns/${id}`)).json().data.templates.map((t: { name: string }) => t.name), ['Product Inquiry']);
});

test('stats, logs, devices and defaults: their shapes', async () => {
  const { id } = await create();
  const stats = (await call(alice.token, 'GET', `/api/warmer/campaigns/${id}/stats`)).json();
  assert.deepEqual(stats, {
    success: true,
    data: { campaignId: id, totalSent: 0, totalSuccess: 0, totalFailed: 0, successRate: 0, avgResponseTime: 0, conversationsStarted: 0, activeConversations: 0 },
  });
  assert.deepEqual((await call(alice.token, 'GET', `/api/warmer/campaigns/${id}/logs?limit=50`)).json(), { success: true, data: { items: [], nextCursor: null } });
  assert.equal((await call(alice.token, 'GET', `/api/warmer/campaigns/${id}/logs?limit=0`)).statusCode, 400);

  const devices = (await call(alice.token, 'GET', '/api/warmer/devices')).json().data;
  assert.deepEqual(
    devices.map((d: { id: number; phoneNumber: string; status: string }) => [d.id, d.phoneNumber, d.status]),
    [
      [aliceDevice, '+15550000001', 'connected'],
      [aliceOther, '+15550000002', 'connected'],
    ],
  );
  assert.deepEqual((await call(bob.token, 'GET', '/api/warmer/devices')).json().data.map((d: { id: number }) => d.id), [bobDevice]);

  const defaults = (await call(alice.token, 'GET', '/api/warmer/templates/defaults')).json().data;
  assert.ok(defaults.length >= 3);
  for (const script of defaults) {
    assert.ok(script.messages.some((m: { sender: string }) => m.sender === 'bot') && script.messages.some((m: { sender: string }) => m.sender === 'user'), script.name);
  }

  const deleted = await call(alice.token, 'DELETE', `/api/warmer/campaigns/${id}`);
  assert.equal(deleted.statusCode, 200);
  assert.equal((await call(alice.token, 'GET', `/api/warmer/campaigns/${id}`)).statusCode, 404);
  assert.equal((await call(alice.token, 'GET', `/api/warmer/campaigns/${id}/stats`)).statusCode, 404);
});
