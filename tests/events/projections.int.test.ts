import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { DomainEvent } from '../../src/domain/events.ts';
import { appendToStream, sqlOf, type RecordedEvent } from '../../src/events/event-store.ts';
import { createAppendNotifier } from '../../src/events/notifier.ts';
import { contactsProjection } from '../../src/events/projections/contacts.ts';
import { devicesProjection } from '../../src/events/projections/devices.ts';
import { messagesProjection } from '../../src/events/projections/messages.ts';
import type { Projection } from '../../src/events/projections/projection.ts';
import { resetProjection, runBatch, runGroupBatch, startProjections } from '../../src/events/projections/runner.ts';
import { createLogger } from '../../src/logger.ts';
import { insertDevice, settleProjection, useTestDatabase } from '../helpers/database.ts';
import { until } from '../helpers/wait.ts';

const db = useTestDatabase();

async function say(messageId: string, tenantId: number, ...events: DomainEvent[]) {
  await appendToStream(db.orm.em.fork(), `message-${messageId}`, events.map((event) => ({ event })), {
    expectedVersion: 'any',
    metadata: { tenantId, deviceId: 3 },
  });
}
const m = (type: DomainEvent['type'], messageId: string, extra: object = {}) => ({ type, data: { messageId, ...extra } }) as DomainEvent;

const rows = async (table: string, order: string) => sqlOf(db.orm.em.fork())(`select * from ${table} order by ${order}`);

test('message status and daily stats follow the lifecycle; a skipped step counts as reached; late receipts change nothing', async () => {
  const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  await say(a, 1, m('message.queued', a, { to: '62811' }), m('message.sent', a, { waMessageId: 'WA-A' }));
  await say(a, 1, m('message.delivered', a), m('message.read', a), m('message.delivered', a));
  await say(b, 1, m('message.queued', b, { to: '62812' }), m('message.failed', b, { reason: 'DEVICE_NOT_CONNECTED' }));
  await say(c, 2, m('message.queued', c, { to: '62813' }), m('message.delivered', c));
  await say(d, 1, m('message.received', d, { waMessageId: 'WA-D', from: '62814@s.whatsapp.net', messageType: 'text', text: 'hi', timestamp: 1 }));
  await settleProjection(db.orm, messagesProjection);

  const status = new Map((await rows('message_status', 'message_id')).map((r) => [r.message_id, r]));
  assert.equal(status.get(a)?.status, 'read');
  assert.equal(status.get(a)?.wa_message_id, 'WA-A');
  for (const column of ['queued_at', 'sent_at', 'delivered_at', 'read_at']) assert.ok(status.get(a)?.[column], column);
  assert.equal(status.get(a)?.played_at, null);
  assert.deepEqual([status.get(b)?.status, status.get(b)?.error], ['failed', 'DEVICE_NOT_CONNECTED']);
  assert.equal(status.get(c)?.status, 'delivered');
  assert.equal(status.get(c)?.tenant_id, 2);
  assert.equal(status.get(d)?.status, 'received');

  const stats = await rows('message_stats_daily', 'tenant_id');
  const today = new Date().toISOString().slice(0, 10);
  const pick = (r: Record<string, unknown>) => [r.tenant_id, r.device_id, r.day, r.queued, r.sent, r.delivered, r.read, r.failed, r.received];
  assert.deepEqual(stats.map(pick), [
    [1, 3, today, 2, 1, 1, 1, 1, 1],
    [2, 3, today, 1, 1, 1, 0, 0, 0],
  ]);
});

test('a projection rebuilt from zero equals the live one, row for row', async () => {
  const ids = Array.from({ length: 40 }, () => randomUUID());
  for (const [i, id] of ids.entries()) {
    const steps: DomainEvent[] = [m('message.queued', id, { to: '62800' })];
    if (i % 2) steps.push(m('message.sent', id, { waMessageId: `WA-${i}` }), m('message.delivered', id));
    if (i % 3 === 0) steps.push(m('message.read', id), m('message.delivered', id));
    await say(id, 1 + (i % 3), ...steps);
  }
  await settleProjection(db.orm, messagesProjection);
  const live = [await rows('message_status', 'message_id'), await rows('message_stats_daily', 'tenant_id, device_id, day')];
  await resetProjection(db.orm, messagesProjection);
  assert.equal((await rows('message_status', 'message_id')).length, 0);
  await settleProjection(db.orm, messagesProjection);
  const rebuilt = [await rows('message_status', 'message_id'), await rows('message_stats_daily', 'tenant_id, device_id, day')];
  assert.deepEqual(rebuilt, live);
});

test("a crash between applying events and moving the checkpoint applies them once", async () => {
  await settleProjection(db.orm, messagesProjection);
  const before = await rows('message_stats_daily', 'tenant_id, device_id, day');
  const id = randomUUID();
  await say(id, 77, m('message.queued', id, { to: '62800' }), m('message.sent', id, { waMessageId: 'WA-X' }));

  let killed = false;
  const crashing: Projection = {
    ...messagesProjection,
    async apply(sql, events, em) {
      await messagesProjection.apply(sql, events, em);
      if (!killed) {
        killed = true;
        // The runner's own connection dies mid-transaction, after the read model was written.
        await sql('select pg_terminate_backend(pg_backend_pid())');
      }
    },
  };
  let crashed = false;
  while (!killed) await runBatch(db.orm, crashing).catch(() => (crashed = true));
  assert.ok(crashed, 'the batch that applied the events failed');
  await settleProjection(db.orm, crashing);
  const after = await rows('message_stats_daily', 'tenant_id, device_id, day');
  assert.deepEqual(after.filter((r) => r.tenant_id === 77).map((r) => [r.queued, r.sent]), [[1, 1]]);
  assert.deepEqual(after.filter((r) => r.tenant_id !== 77), before);
});

test('an append in any process wakes subscribers of the notifier', async () => {
  const notifier = await createAppendNotifier(db.url, createLogger({ logLevel: 'silent' }));
  try {
    const woken = new Promise<void>((resolve) => notifier.subscribe(resolve));
    const id = randomUUID();
    await say(id, 5, m('message.queued', id, { to: '62800' }));
    await woken;
  } finally {
    await notifier.close();
  }
});

test('the live runner keeps the read model up to date', async () => {
  const notifier = await createAppendNotifier(db.url, createLogger({ logLevel: 'silent' }));
  await settleProjection(db.orm, messagesProjection);
  const runner = startProjections(db.orm, [messagesProjection], notifier, createLogger({ logLevel: 'silent' }));
  try {
    const id = randomUUID();
    const appended = Date.now();
    await say(id, 5, m('message.queued', id, { to: '62800' }));
    let row;
    while (!row && Date.now() - appended < 10_000) {
      [row] = await sqlOf(db.orm.em.fork())('select status from message_status where message_id = ?', [id]);
      if (!row) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(row?.status, 'queued');
  } finally {
    await runner.close();
    await notifier.close();
  }
});

test('a logged-out device stays logged out when a late reconnect or close is reported; a QR or a connection moves it on', async () => {
  const { deviceId } = await insertDevice(db.orm, 'late-close');
  const report = (event: DomainEvent) => appendToStream(db.orm.em.fork(), `device-${deviceId}`, [{ event }], { expectedVersion: 'any', metadata: { deviceId } });
  const status = async () => {
    await settleProjection(db.orm, devicesProjection);
    return (await sqlOf(db.orm.em.fork())('select status from devices where id = ?', [deviceId]))[0]!.status;
  };
  await report({ type: 'device.logged-out', data: { reason: 'requested' } });
  await report({ type: 'device.connecting', data: {} });
  await report({ type: 'device.disconnected', data: { reason: 'closed (428)', code: 428 } });
  assert.equal(await status(), 'logged_out');
  await report({ type: 'device.qr-issued', data: { qr: 'ref,keys' } });
  assert.equal(await status(), 'pending', 'a new QR: the device is being linked again');
  await report({ type: 'device.logged-out', data: { reason: 'requested' } });
  await report({ type: 'device.connected', data: { phoneNumber: '+628111' } });
  assert.equal(await status(), 'connected');
});

const appendRun = async (run: string, streams: number) => {
  for (let i = 0; i < streams; i++) {
    await appendToStream(db.orm.em.fork(), `group-${run}-${i}`, Array.from({ length: 10 }, (_, k) => ({ event: m('message.queued', `${run}-${i}-${k}`, { to: '62800' }) })), {
      expectedVersion: 'no-stream',
    });
  }
};
// Records what it applies in its batch's transaction (a batch rolled back recorded nothing), read back in order.
const recorder = (name: string, fail = () => false): Projection => ({
  name,
  handles: ['message.queued'],
  async apply(sql, events) {
    if (fail()) throw new Error(`${name} fails`);
    await sql('insert into test_applied (projection, event_id, stream_id) select ?, * from jsonb_to_recordset(?::jsonb) as e(event_id text, stream_id text)', [
      name,
      JSON.stringify(events.map((e) => ({ event_id: e.eventId, stream_id: e.streamId }))),
    ]);
  },
  async reset() {},
});
const appliedBy = async (projection: Projection) =>
  (await sqlOf(db.orm.em.fork())('select event_id, stream_id from test_applied where projection = ? order by seq', [projection.name])).map((r) => ({ eventId: String(r.event_id), streamId: String(r.stream_id) }));
const ofRun = (run: string, events: Pick<RecordedEvent, 'eventId' | 'streamId'>[]) => events.filter((e) => e.streamId.startsWith(`group-${run}-`)).map((e) => e.eventId);

test('projections batched together, one of them far behind, each see every event once and in order', async () => {
  await sqlOf(db.orm.em.fork())('create table if not exists test_applied (seq serial primary key, projection text, event_id text, stream_id text)');
  const run = randomUUID().slice(0, 8);
  await appendRun(run, 25);
  const [a, b, late] = ['a', 'b', 'late'].map((n) => recorder(`group-${n}-${run}`)) as [Projection, Projection, Projection];
  const caughtUp = (projections: Projection[]) =>
    // A transaction still open elsewhere (another test file's) may hold the feed back: batch until this run is in.
    until(async () => ((await runGroupBatch(db.orm, projections, 100)) === 0 && (await Promise.all(projections.map(appliedBy))).every((s) => ofRun(run, s).length === 250) ? true : undefined), 'caught up');
  await caughtUp([a, b]);
  // A new projection joins at the start of the feed: it reads on its own checkpoint in the same batches.
  await appendRun(`${run}x`, 3);
  await caughtUp([a, b, late]);
  const [seenA, seenB, seenLate] = await Promise.all([a, b, late].map(appliedBy));
  assert.equal(new Set(ofRun(run, seenA!)).size, 250);
  assert.deepEqual(ofRun(run, seenA!), ofRun(run, seenB!));
  assert.deepEqual(ofRun(run, seenLate!), ofRun(run, seenA!));
  assert.equal(ofRun(`${run}x`, seenA!).length, 30);
  assert.deepEqual(ofRun(`${run}x`, seenLate!), ofRun(`${run}x`, seenA!));
});

test('in the live runner a failing projection holds back nobody, and catches up once, in order, when it recovers', async () => {
  await sqlOf(db.orm.em.fork())('create table if not exists test_applied (seq serial primary key, projection text, event_id text, stream_id text)');
  const notifier = await createAppendNotifier(db.url, createLogger({ logLevel: 'silent' }));
  const run = randomUUID().slice(0, 8);
  let failing = true;
  const [good, flaky] = [recorder(`live-good-${run}`), recorder(`live-flaky-${run}`, () => failing)];
  const runner = startProjections(db.orm, [good, flaky], notifier, createLogger({ logLevel: 'silent' }));
  const seen = async (projection: Projection, of: string) => ofRun(of, await appliedBy(projection));
  try {
    await appendRun(run, 5);
    await until(async () => ((await seen(good, run)).length === 50 ? true : undefined), 'the good projection up to date while the other fails');
    assert.equal((await seen(flaky, run)).length, 0);
    failing = false;
    await appendRun(`${run}y`, 1);
    await until(async () => ((await seen(flaky, `${run}y`)).length === 10 && (await seen(good, `${run}y`)).length === 10 ? true : undefined), 'both caught up');
    assert.deepEqual(await seen(flaky, run), await seen(good, run));
    assert.deepEqual(await seen(flaky, `${run}y`), await seen(good, `${run}y`));
    assert.equal(new Set(await seen(good, run)).size, 50);
  } finally {
    await runner.close();
    await notifier.close();
  }
});

test('a runner that goes after another starts no batch while the other works through a burst of full batches', async () => {
  const notifier = await createAppendNotifier(db.url, createLogger({ logLevel: 'silent' }));
  const run = randomUUID().slice(0, 8);
  const burst = `group-${run}-burst`;
  await appendToStream(db.orm.em.fork(), burst, Array.from({ length: 1500 }, (_, k) => ({ event: m('message.queued', `${run}-${k}`, { to: '62800' }) })), {
    expectedVersion: 'no-stream',
  });
  let firstApplied = 0;
  let firstBatches = 0;
  // Where the first runner stood each time the second began a batch.
  const secondStartedAt: { batches: number; applied: number }[] = [];
  const counting = (name: string, onApply: (events: RecordedEvent[]) => Promise<void>): Projection => ({ name, handles: ['message.queued'], apply: (_sql, events) => onApply(events), async reset() {} });
  const first = counting(`first-${run}`, async (events) => {
    // Long enough that the other runner would start beside it, were it free to.
    await new Promise((resolve) => setTimeout(resolve, 30));
    firstApplied += events.filter((e) => e.streamId === burst).length;
    firstBatches++;
  });
  const second = counting(`second-${run}`, async () => {
    secondStartedAt.push({ batches: firstBatches, applied: firstApplied });
    await new Promise((resolve) => setTimeout(resolve, 30));
  });
  const firstRunner = startProjections(db.orm, [first], notifier, createLogger({ logLevel: 'silent' }));
  const secondRunner = startProjections(db.orm, [second], notifier, createLogger({ logLevel: 'silent' }), firstRunner);
  try {
    await until(() => (firstApplied === 1500 && secondStartedAt.length >= 3 ? true : undefined), 'both runners through the burst');
    // Beside the first one's first batch the second may run: only a full batch tells a burst.
    const during = secondStartedAt.filter((at) => at.batches >= 2 && at.applied < 1500);
    assert.deepEqual(during, [], `the second began batches at ${JSON.stringify(secondStartedAt)}`);
    assert.ok(firstBatches >= 3, 'the burst took full batches');
  } finally {
    await secondRunner.close();
    await firstRunner.close();
    await notifier.close();
  }
});

test('contacts learnt from a batch of events equal those learnt one event at a time (a LID folded into a number, presence between)', async () => {
  const { deviceId, userId } = await insertDevice(db.orm, 'contacts-batch');
  const say = (type: DomainEvent['type'], data: Record<string, unknown>) =>
    appendToStream(db.orm.em.fork(), `contacts-${deviceId}`, [{ event: { type, data } as DomainEvent }], { expectedVersion: 'any', metadata: { tenantId: userId, deviceId } });
  const received = (from: string, pushName: string, fromLid?: string) => ({ messageId: randomUUID(), waMessageId: 'WA', chatJid: from, from, ...(fromLid ? { fromLid } : {}), pushName, messageType: 'text', text: 'hi', timestamp: 1 });
  await say('message.received', received('111222333@lid', 'By LID'));
  await say('message.received', received('6281100000001@s.whatsapp.net', 'Ana'));
  await say('contact.presence-updated', { jid: '111222333@lid', presence: 'available' });
  await say('contact.identified', { jid: '6281100000002@s.whatsapp.net', lid: '111222333@lid', source: 'lookup' });
  await say('message.received', received('6281100000002@s.whatsapp.net', 'Budi', '111222333@lid'));
  await say('contact.updated', { jid: '6281100000001@s.whatsapp.net', name: 'Ana (work)', source: 'contact' });
  await say('message.received', received('444555666@lid', 'Stranger'));
  const contacts = async () =>
    (await sqlOf(db.orm.em.fork())('select * from contacts where device_id = ? order by jid', [deviceId])).map(({ updated_at: _u, created_at: _c, presence_at: _p, ...row }) => row);
  const events = (await sqlOf(db.orm.em.fork())('select global_position from events where stream_id = ? order by global_position', [`contacts-${deviceId}`])).length;
  assert.equal(events, 7);

  await settleProjection(db.orm, contactsProjection);
  const together = await contacts();
  await resetProjection(db.orm, contactsProjection);
  // One event per batch.
  while ((await runBatch(db.orm, contactsProjection, 1)) > 0);
  assert.deepEqual(await contacts(), together);
  assert.deepEqual(
    together.map((c) => [c.jid, c.lid, c.whatsapp_name, c.contact_name, c.presence]),
    [
      ['444555666@lid', '444555666@lid', 'Stranger', null, null],
      ['6281100000001@s.whatsapp.net', null, 'Ana', 'Ana (work)', null],
      ['6281100000002@s.whatsapp.net', '111222333@lid', 'Budi', null, 'available'],
    ],
  );
});
