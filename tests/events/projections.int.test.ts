import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { DomainEvent } from '../../src/domain/events.ts';
import { appendToStream, readFeed, sqlOf, START, type RecordedEvent } from '../../src/events/event-store.ts';
import { createAppendNotifier } from '../../src/events/notifier.ts';
import { devicesProjection } from '../../src/events/projections/devices.ts';
import { messagesProjection } from '../../src/events/projections/messages.ts';
import type { Projection } from '../../src/events/projections/projection.ts';
import { resetProjection, runBatch, sharedFullBatches, startProjections } from '../../src/events/projections/runner.ts';
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

test('projections sharing a reader read each full batch once and still see every event once, in order', async () => {
  const run = randomUUID().slice(0, 8);
  for (let i = 0; i < 25; i++) {
    await appendToStream(db.orm.em.fork(), `shared-${run}-${i}`, Array.from({ length: 10 }, (_, k) => ({ event: m('message.queued', `${run}-${i}-${k}`, { to: '62800' }) })), {
      expectedVersion: 'no-stream',
    });
  }
  const read = sharedFullBatches();
  const em = db.orm.em.fork();
  // The feed stops short while a transaction anywhere on the server is open (other test files'): wait for this run's last.
  const head = await until(async () => {
    const feed = await readFeed(em as never, START, 100_000);
    return feed.at(-1)?.streamId === `shared-${run}-24` ? feed : undefined;
  }, 'this run in the feed');
  const full = await read(em as never, START, 100);
  assert.equal(full.length, 100);
  assert.equal(await read(em as never, START, 100), full, 'a full batch is read once');
  const tail = head.at(-2)!;
  const short = await read(em as never, { transactionId: tail.transactionId, position: tail.position }, 100);
  assert.equal(short.length, 1);
  assert.notEqual(await read(em as never, { transactionId: tail.transactionId, position: tail.position }, 100), short, 'a short read is read again');

  const seenBy = (name: string, seen: RecordedEvent[]): Projection => ({
    name: `shared-${name}-${run}`,
    handles: ['message.queued'],
    async apply(_sql, events) {
      seen.push(...events);
    },
    async reset() {},
  });
  const a: RecordedEvent[] = [];
  const b: RecordedEvent[] = [];
  const mine = (events: RecordedEvent[]) => events.filter((e) => e.streamId.startsWith(`shared-${run}-`)).map((e) => e.eventId);
  for (const [projection, seen] of [[seenBy('a', a), a], [seenBy('b', b), b]] as const) {
    // A transaction still open elsewhere may hold the feed back for a moment: read until this run's events are in.
    await until(async () => ((await runBatch(db.orm, projection, 100, read)) === 0 && mine(seen).length === 250 ? true : undefined), `${projection.name} caught up`);
  }
  assert.equal(mine(a).length, 250);
  assert.deepEqual(mine(a), mine(b));
  assert.equal(new Set(mine(a)).size, 250);
});
