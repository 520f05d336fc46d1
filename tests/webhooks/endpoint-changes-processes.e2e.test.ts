import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { EntityManager } from '@mikro-orm/postgresql';
import { openOrm, type Orm } from '../../src/db/orm.ts';
import type { DomainEvent } from '../../src/domain/events.ts';
import { appendToStream } from '../../src/events/event-store.ts';
import { adminClient, startApiAndWorker, useProcessFleet } from '../helpers/processes.ts';
import { answerWith, startReceiver, type Receiver } from '../helpers/receivers.ts';
import { until } from '../helpers/wait.ts';

// Delivery workers keep endpoints in memory (src/workers/webhooks/deliver.ts). A change made through the API process
// is announced to the worker process before it is answered, so the very next delivery follows it.

describe('endpoints kept by a worker process, changed through the API process', () => {
  const fleet = useProcessFleet({ ALLOW_PRIVATE_WEBHOOKS: 'true', WEBHOOK_RETRY_SCHEDULE: '1s,1s,1s,1s', WEBHOOK_RETRY_JITTER: '0' });
  let api: ReturnType<typeof adminClient>;
  let orm: Orm;
  let adminId: number;
  const receivers: Receiver[] = [];

  before(async () => {
    api = adminClient((await startApiAndWorker(fleet)).base);
    orm = await openOrm(fleet.resources.databaseUrl);
    adminId = (await api('GET', '/api/auth/verify')).body.data!.id;
    for (let i = 0; i < 2; i++) receivers.push(await startReceiver());
  });
  after(async () => {
    await Promise.all(receivers.map((receiver) => receiver.close()));
    await orm?.close();
  });

  // An inbound message, as a session host appends it.
  const emit = async (text: string) => {
    const event: DomainEvent = {
      type: 'message.received',
      data: { messageId: `msg_${randomUUID().slice(0, 8)}`, waMessageId: '3EB0AA', chatJid: '6281200000001@s.whatsapp.net', from: '6281200000001@s.whatsapp.net', fromLid: '1234@lid', pushName: 'Ana', messageType: 'text', text, timestamp: 1_795_000_000 },
    };
    await appendToStream(orm.em.fork() as EntityManager, `test-${randomUUID()}`, [{ event, eventId: randomUUID() }], { expectedVersion: 'no-stream', metadata: { tenantId: adminId } });
  };
  const arrived = (receiver: Receiver, text: string) =>
    until(() => receiver.requests.find((request) => request.body.includes(text)), `"${text}" at the receiver`, 30_000);

  test('a new URL, a rotated secret and a disable each apply to the next delivery', async () => {
    const [first, second] = receivers as [Receiver, Receiver];
    const created = await api('POST', '/api/whatsapp/webhooks', { url: first.url, events: ['message'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id, secret } = created.body.data as { id: string; secret: string };
    await emit('kept');
    await arrived(first, 'kept');

    assert.equal((await api('PUT', `/api/whatsapp/webhooks/${id}`, { url: second.url })).status, 200);
    await emit('moved');
    await arrived(second, 'moved');
    assert.ok(!first.requests.some((request) => request.body.includes('moved')), 'nothing more to the old URL');

    const rotated = (await api('POST', `/api/whatsapp/webhooks/${id}/rotate-secret`)).body.data!.secret as string;
    await emit('rotated');
    const signed = await arrived(second, 'rotated');
    // Seed 004's signature is by the current secret alone.
    const hex = (key: string) => createHmac('sha256', key).update(signed.body).digest('hex');
    assert.notEqual(rotated, secret);
    assert.equal(signed.headers['x-webhook-signature'], hex(rotated), 'signed with the new secret');

    // A delivery retrying when its endpoint is disabled: its next attempt is abandoned, not sent.
    second.answer = answerWith(500);
    await emit('disabled');
    await arrived(second, 'disabled');
    assert.equal((await api('PUT', `/api/whatsapp/webhooks/${id}`, { enabled: false })).status, 200);
    const ended = await until(async () => {
      const listed = (await api('GET', `/api/whatsapp/webhooks/${id}/deliveries?status=failed`)).body.data as { lastError: string | null }[];
      return listed.length ? listed : undefined;
    }, 'the retrying delivery to be abandoned', 30_000);
    assert.match(ended[0]!.lastError ?? '', /disabled/);
    assert.equal(second.requests.filter((request) => request.body.includes('"disabled"')).length, 1, 'one attempt, before the disable');
  });
});
