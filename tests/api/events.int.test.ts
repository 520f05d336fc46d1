import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { appendToStream, readFeed, sqlOf, START } from '../../src/events/event-store.ts';
import type { DomainEvent } from '../../src/domain/events.ts';
import { ADMIN_TOKEN, bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { openSse } from '../helpers/sse.ts';
import { until } from '../helpers/wait.ts';

let platform: TestPlatform;
let base: string;
before(async () => {
  platform = await startTestPlatform({ SSE_MAX_BUFFER: String(256 * 1024) });
  base = await platform.app.listen({ port: 0, host: '127.0.0.1' });
});
after(() => platform.close());

const queued = (messageId: string): DomainEvent => ({ type: 'message.queued', data: { messageId, to: '62811@s.whatsapp.net', content: { type: 'text', text: 'hi' } } });
const connected: DomainEvent = { type: 'device.connected', data: { phoneNumber: '+62811' } };

async function append(tenantId: number, event: DomainEvent, deviceId = 1) {
  await appendToStream(platform.app.orm.em.fork(), `s-${randomUUID()}`, [{ event }], {
    expectedVersion: 'no-stream',
    metadata: { tenantId, deviceId, sessionId: `user_${tenantId}_device_${deviceId}` },
  });
}

async function positionsOf(tenantId: number, types?: string[]) {
  return (await readFeed(platform.app.orm.em.fork(), START, 100_000, { tenantId, ...(types ? { types } : {}) })).map((e) => e.position);
}

async function stallReport(tenantId: number, received: number[]): Promise<string> {
  const logged = await positionsOf(tenantId);
  const missing = logged.filter((p) => !received.includes(p));
  const holders = await sqlOf(platform.app.orm.em.fork())(
    `select datname, pid, state, backend_xid::text, now() - xact_start as age, left(query, 120) as query
       from pg_stat_activity where backend_xid is not null order by xact_start`,
  );
  return `stalled at ${received.length} of ${logged.length} logged events; missing ${JSON.stringify(missing.slice(0, 20))}; xid holders ${JSON.stringify(holders)}`;
}

describe('Server-Sent Events', () => {
  test('a client disconnected several times mid-stream ends with exactly the full sequence', async () => {
    const user = await createUser(platform, 'sse-reconnects');
    const TOTAL = 300;
    const appending = (async () => {
      for (let i = 0; i < TOTAL; i += 3) {
        await Promise.all([0, 1, 2].map((k) => append(user.id, queued(`${i + k}`))));
      }
    })();

    const received: number[] = [];
    const seenTypes = new Set<string>();
    let connections = 0;
    while (received.length < TOTAL) {
      connections++;
      const budget = 20 + Math.floor(Math.random() * 60);
      let taken = 0;
      const lastId = received.at(-1);
      const headers = { ...bearer(user.token), ...(lastId === undefined ? {} : { 'last-event-id': String(lastId) }) };
      const url = `${base}/api/whatsapp/events/stream${lastId === undefined ? '?after=0' : ''}`;
      const stream = await openSse(url, headers, (message, reading) => {
        if (taken >= budget) return;
        received.push(Number(message.id));
        seenTypes.add(message.event!);
        if (++taken >= budget || received.length >= TOTAL) reading.abort();
      });
      // A stall here would otherwise hang until the runner's timeout; say what is missing and who holds the
      // feed back (transaction ids are server-wide, so an old open transaction anywhere on the server fences it).
      let stalled: NodeJS.Timeout | undefined;
      await Promise.race([
        stream.done,
        new Promise((_, reject) => {
          stalled = setTimeout(() => {
            stream.abort();
            void stallReport(user.id, received).then((report) => reject(new Error(report)), reject);
          }, 30_000);
        }),
      ]).finally(() => clearTimeout(stalled));
    }
    await appending;
    assert.ok(connections >= 4, `reconnected ${connections - 1} times`);
    assert.deepEqual(received, await positionsOf(user.id), 'every event once, in the log order');
    assert.deepEqual([...seenTypes], ['message.queued']);
  });

  test('frames carry id = position, event = type and the event as JSON', async () => {
    const user = await createUser(platform, 'sse-frames');
    let resolveFirst: (value: unknown) => void;
    const first = new Promise((resolve) => (resolveFirst = resolve));
    const stream = await openSse(`${base}/api/whatsapp/events/stream?token=${user.token}`, {}, (message) => resolveFirst(message));
    await append(user.id, connected, 4);
    const message = (await first) as { id: string; event: string; data: string };
    stream.abort();
    const { id, eventId, streamId, recordedAt, ...body } = JSON.parse(message.data);
    assert.equal(message.event, 'device.connected');
    assert.equal(Number(message.id), id);
    assert.match(eventId, /^[0-9a-f-]{36}$/);
    assert.match(streamId, /^s-/);
    assert.ok(!Number.isNaN(Date.parse(recordedAt)));
    assert.deepEqual(body, {
      type: 'device.connected',
      deviceId: 4,
      sessionId: `user_${user.id}_device_4`,
      data: { phoneNumber: '+62811' },
    });
  });

  test('filters by device and by type prefix', async () => {
    const user = await createUser(platform, 'sse-filters');
    const got: string[] = [];
    const stream = await openSse(`${base}/api/whatsapp/events/stream?deviceId=2&types=device.*`, bearer(user.token), (m) => got.push(`${m.event}`));
    await append(user.id, queued('a'), 2);
    await append(user.id, connected, 3);
    await append(user.id, connected, 2);
    await append(user.id, { type: 'device.disconnected', data: { reason: 'closed', code: 428 } }, 2);
    await until(() => (got.length >= 2 ? true : undefined), 'two device events');
    stream.abort();
    assert.deepEqual(got, ['device.connected', 'device.disconnected']);
  });

  test('an unknown Last-Event-ID is 400; no credential is 401', async () => {
    const user = await createUser(platform, 'sse-errors');
    const unknown = await fetch(`${base}/api/whatsapp/events/stream`, { headers: { ...bearer(user.token), 'last-event-id': '99999999' } });
    assert.equal(unknown.status, 400);
    assert.equal(((await unknown.json()) as { code: string }).code, 'VALIDATION_ERROR');
    assert.equal((await fetch(`${base}/api/whatsapp/events/stream`)).status, 401);
  });

  test('a slow client is disconnected when its buffer overflows, and does not slow a fast one', async () => {
    const user = await createUser(platform, 'sse-slow');
    const fast: number[] = [];
    const fastStream = await openSse(`${base}/api/whatsapp/events/stream`, bearer(user.token), (m) => fast.push(Number(m.id)));

    // Never reads until the end: the server's buffer for it grows. A paused socket cannot notice the hang-up, so
    // the drop is seen in the server's live-client count, and the client finds its stream cut short afterwards.
    let slowResponse: http.IncomingMessage | undefined;
    const slowRequest = http.get(`${base}/api/whatsapp/events/stream`, { headers: bearer(user.token) }, (res) => {
      res.pause();
      slowResponse = res;
    });
    slowRequest.on('error', () => {});
    await until(() => slowResponse, 'the slow client to connect');
    const liveClients = async () =>
      (await platform.request({ method: 'GET', url: '/api/whatsapp/server/stats', headers: { 'x-admin-token': ADMIN_TOKEN } })).json().data.liveClients as number;
    const clientsBefore = await liveClients();

    // How much the kernel's socket buffers absorb varies by machine (this one allows 32 MB of receive buffer), so
    // large events are appended until the server gives up on the slow client, within a bound.
    const big = 'x'.repeat(256 * 1024);
    let appended = 0;
    while ((await liveClients()) === clientsBefore) {
      assert.ok(appended < 800, 'the slow client was never dropped');
      for (let i = 0; i < 20; i++, appended++) {
        await append(user.id, { type: 'message.received', data: { messageId: `${appended}`, waMessageId: `${appended}`, chatJid: '1@s.whatsapp.net', from: '1@s.whatsapp.net', messageType: 'text', text: big, timestamp: appended } });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const slow = slowResponse!;
    let slowText = '';
    slow.setEncoding('utf8');
    slow.on('data', (chunk: string) => (slowText += chunk));
    await new Promise<void>((resolve) => {
      slow.on('close', resolve);
      slow.resume();
    });
    const slowGot = slowText.match(/^id: /gm)?.length ?? 0;
    assert.ok(slowGot < appended, `the slow client was cut off (it got ${slowGot} of ${appended})`);

    await until(() => (fast.length >= appended ? true : undefined), 'the fast client to receive every event', 120_000);
    fastStream.abort();
    assert.deepEqual(fast, await positionsOf(user.id));
  });
});

describe('polling', () => {
  test('pages through your events with ?after= and nextCursor', async () => {
    const user = await createUser(platform, 'poller');
    for (let i = 0; i < 7; i++) await append(user.id, queued(`p${i}`));
    const ids: number[] = [];
    let after = 0;
    // An empty page means "nothing more yet": a client polls again (a transaction elsewhere may hold events back).
    while (ids.length < 7) {
      const res = await platform.request({ method: 'GET', url: `/api/whatsapp/events?after=${after}&limit=3`, headers: bearer(user.token) });
      assert.equal(res.statusCode, 200);
      const { items, nextCursor } = res.json().data;
      assert.ok(items.length <= 3);
      ids.push(...items.map((e: { id: number }) => e.id));
      after = nextCursor;
      if (!items.length) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(ids, await positionsOf(user.id));
  });
});

describe('tenancy', () => {
  test("one tenant never receives another tenant's events on SSE or polling", async () => {
    const alice = await createUser(platform, 'tenant-alice');
    const bob = await createUser(platform, 'tenant-bob');
    const bobSaw: string[] = [];
    const bobStream = await openSse(`${base}/api/whatsapp/events/stream?after=0`, bearer(bob.token), (m) => bobSaw.push(m.data));
    for (let i = 0; i < 5; i++) await append(alice.id, queued(`secret-${i}`));
    await append(bob.id, queued('bobs-own'));
    await until(() => (bobSaw.length >= 1 ? true : undefined), "bob's own event");
    await new Promise((resolve) => setTimeout(resolve, 100));
    bobStream.abort();
    assert.equal(bobSaw.length, 1);
    assert.match(bobSaw[0]!, /bobs-own/);

    const polled = await platform.request({ method: 'GET', url: '/api/whatsapp/events?after=0&limit=1000', headers: bearer(bob.token) });
    assert.deepEqual(polled.json().data.items.map((e: { data: { messageId: string } }) => e.data.messageId), ['bobs-own']);
    const filtered = await platform.request({ method: 'GET', url: `/api/whatsapp/events?sessionId=user_${alice.id}_device_1`, headers: bearer(bob.token) });
    assert.deepEqual(filtered.json().data.items, []);
  });
});
