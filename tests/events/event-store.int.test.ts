import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import {
  appendToStream,
  checkpointOf,
  headOfFeed,
  readFeed,
  readStream,
  START,
  VersionConflictError,
  type Checkpoint,
  type RecordedEvent,
} from '../../src/events/event-store.ts';
import { useTestDatabase } from '../helpers/database.ts';

const db = useTestDatabase();

const queued = (messageId: string) => ({ event: { type: 'message.queued', data: { messageId, to: '6281234567890@s.whatsapp.net', content: { type: 'text', text: 'hi' } } } }) as const;

test('8 concurrent appenders × 500 events: a reader following the feed sees every event once, in order', async () => {
  const WRITERS = 8;
  const PER_WRITER = 500;
  const run = randomUUID().slice(0, 8);
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    const em = db.orm.em.fork();
    for (let i = 0; i < PER_WRITER; i++) {
      // Each writer owns a stream and names its expected version on every append.
      await appendToStream(em, `race-${run}-${w}`, [queued(`${w}-${i}`)], { expectedVersion: i, metadata: { tenantId: 1 } });
    }
  });

  const seen: RecordedEvent[] = [];
  // Which read returned each event, and from which cursor: if one is ever seen twice, the failure says how.
  const reads: string[] = [];
  let cursor: Checkpoint = START;
  let mineSeen = 0;
  const deadline = Date.now() + 120_000;
  const all = Promise.all(writers);
  const reader = (async () => {
    const em = db.orm.em.fork();
    // Reads until every event of this run has come by; a transaction running elsewhere may hold the feed back
    // for a moment, which delays events but must never lose one.
    while (mineSeen < WRITERS * PER_WRITER && Date.now() < deadline) {
      const batch = await readFeed(em, cursor, 100);
      if (!batch.length) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        continue;
      }
      seen.push(...batch);
      const read = `a read after (${cursor.transactionId}, ${cursor.position})`;
      reads.push(...batch.map(() => read));
      mineSeen += batch.filter((e) => e.streamId.startsWith(`race-${run}-`)).length;
      cursor = { transactionId: batch.at(-1)!.transactionId, position: batch.at(-1)!.position };
    }
  })();
  await all;
  await reader;

  const mine = seen.filter((e) => e.streamId.startsWith(`race-${run}-`));
  assert.equal(mine.length, WRITERS * PER_WRITER, 'every event was read');
  const firstIndex = new Map<string, number>();
  const twice = seen.flatMap((e, i) => {
    const first = firstIndex.get(e.eventId);
    if (first === undefined) firstIndex.set(e.eventId, i);
    return first === undefined ? [] : [`${e.eventId} (tx ${e.transactionId}, position ${e.position}): ${reads[first]} and ${reads[i]}`];
  });
  assert.deepEqual(twice, [], 'none twice');
  for (let i = 1; i < seen.length; i++) {
    const [a, b] = [seen[i - 1]!, seen[i]!];
    const ordered = BigInt(a.transactionId) < BigInt(b.transactionId) || (a.transactionId === b.transactionId && a.position < b.position);
    assert.ok(ordered, `feed order at ${i}`);
  }
  for (let w = 0; w < WRITERS; w++) {
    const versions = mine.filter((e) => e.streamId === `race-${run}-${w}`).map((e) => e.streamVersion);
    assert.deepEqual(versions, Array.from({ length: PER_WRITER }, (_, i) => i + 1), `stream ${w} in version order`);
  }
  const again = await readFeed(db.orm.em.fork(), START, 100_000);
  assert.deepEqual(again.map((e) => e.eventId), seen.map((e) => e.eventId), 'the live reading equals a later full reading');
});

test('an append naming a stale version is a VersionConflictError and writes nothing', async () => {
  const stream = `conflict-${randomUUID()}`;
  const em = db.orm.em.fork();
  await appendToStream(em, stream, [queued('a')], { expectedVersion: 'no-stream' });
  const racing = await Promise.allSettled([
    appendToStream(db.orm.em.fork(), stream, [queued('b')], { expectedVersion: 1 }),
    appendToStream(db.orm.em.fork(), stream, [queued('c')], { expectedVersion: 1 }),
  ]);
  assert.deepEqual(racing.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  const failure = racing.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.ok(failure.reason instanceof VersionConflictError);
  assert.equal(failure.reason.actual, 2);
  await assert.rejects(appendToStream(em, stream, [queued('d')], { expectedVersion: 'no-stream' }), VersionConflictError);
  assert.deepEqual((await readStream(em, stream)).map((e) => e.streamVersion), [1, 2]);
});

test('retrying an append with the same event ids is a no-op', async () => {
  const stream = `retry-${randomUUID()}`;
  const em = db.orm.em.fork();
  const events = [{ ...queued('x'), eventId: randomUUID() }, { ...queued('y'), eventId: randomUUID() }];
  const first = await appendToStream(em, stream, events, { expectedVersion: 0 });
  const second = await appendToStream(em, stream, events, { expectedVersion: 0 });
  assert.deepEqual(second, first);
  assert.equal((await readStream(em, stream)).length, 2);
});

test('events carry their type version, metadata and time; filters select by tenant, device and type prefix', async () => {
  const em = db.orm.em.fork();
  const head = await headOfFeed(em);
  const tenant = 9000 + Math.floor(Math.random() * 1000);
  await appendToStream(em, `device-${tenant}`, [{ event: { type: 'device.connected', data: { phoneNumber: '+62811' } } }], {
    expectedVersion: 'any',
    metadata: { tenantId: tenant, deviceId: 7, sessionId: 'user_1_device_a', correlationId: 'c-1' },
  });
  await appendToStream(em, `message-${tenant}`, [queued('m')], { expectedVersion: 'any', metadata: { tenantId: tenant, deviceId: 8 } });
  // Transaction ids are cluster-wide: a transaction in another database (a parallel test file) can hold the
  // feed back for a moment. Wait until both events are readable.
  while ((await readFeed(em, head, 10, { tenantId: tenant })).length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  const [connected] = await readFeed(em, head, 10, { tenantId: tenant, types: ['device.*'] });
  assert.equal(connected?.type, 'device.connected');
  assert.equal(connected?.typeVersion, 1);
  assert.deepEqual(connected?.metadata, { tenantId: tenant, deviceId: 7, sessionId: 'user_1_device_a', correlationId: 'c-1' });
  assert.ok(connected!.recordedAt instanceof Date && !Number.isNaN(connected!.recordedAt.getTime()));
  assert.deepEqual((await readFeed(em, head, 10, { tenantId: tenant, deviceId: 8 })).map((e) => e.type), ['message.queued']);
  assert.deepEqual((await readFeed(em, head, 10, { tenantId: tenant, sessionId: 'user_1_device_a' })).map((e) => e.type), ['device.connected']);
  assert.equal((await readFeed(em, head, 10, { tenantId: tenant + 1 })).length, 0);
  assert.deepEqual(await checkpointOf(em, connected!.position), { transactionId: connected!.transactionId, position: connected!.position });
});
