import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { openOrm } from '../src/db/orm.ts';
import { appendToManyStreams } from '../src/events/event-store.ts';
import { adminClient, freePort, stopProcess, untilReady, useProcessFleet } from './helpers/processes.ts';
import { startReceiver } from './helpers/receivers.ts';
import { until } from './helpers/wait.ts';

// Webhooks through real processes (an API and a worker): the worker is SIGKILLed while deliveries wait for their
// retries and again while new events are being dispatched. Every event still reaches the receiver (at least once;
// any copy carries the same webhook-id), and every delivery ends `delivered`.
const EVENTS = 150;
const FAILURES_EACH = 2;
const fleet = useProcessFleet({ ALLOW_PRIVATE_WEBHOOKS: 'true', WEBHOOK_RETRY_SCHEDULE: '1s,1s,1s,1s,1s', WEBHOOK_RETRY_JITTER: '0.5', LOG_LEVEL: 'warn' });

test('SIGKILL mid-retry and mid-dispatch: every event is delivered, copies share their webhook-id', { timeout: 240_000 }, async () => {
  // Each event is refused twice before it is taken, so every delivery goes through the retry path.
  const answered = new Map<string, number>();
  const delivered = new Map<string, number>();
  const receiver = await startReceiver((req, _i, res) => {
    const id = String(req.headers['webhook-id']);
    const seen = (answered.get(id) ?? 0) + 1;
    answered.set(id, seen);
    if (seen <= FAILURES_EACH) return res.writeHead(500).end('not yet');
    delivered.set(id, (delivered.get(id) ?? 0) + 1);
    res.writeHead(200).end('ok');
  });
  const orm = await openOrm(fleet.resources.databaseUrl);
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const api = adminClient(base);
    const apiProcess = fleet.start({ ROLE: 'api', PORT: String(port) });
    let worker = fleet.start({ ROLE: 'worker', PORT: String(await freePort()) });
    await untilReady(base, apiProcess);
    const created = await api('POST', '/api/whatsapp/webhooks', { url: receiver.url, events: ['campaign.*'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id: webhookId, userId } = created.body.data!;

    const append = (from: number, count: number) =>
      appendToManyStreams(
        orm.em.fork(),
        Array.from({ length: count }, (_, i) => ({
          streamId: `campaign-crash-${from + i}-${randomUUID().slice(0, 6)}`,
          event: { type: 'campaign.paused' as const, data: { campaignId: `cmp_${from + i}` } },
          metadata: { tenantId: userId },
        })),
        { expectedVersion: 'no-stream' },
      );

    await append(0, EVENTS / 2);
    await until(() => (answered.size >= 20 ? true : undefined), 'first attempts under way', 90_000);
    await stopProcess(worker, 'SIGKILL');
    worker = fleet.start({ ROLE: 'worker', PORT: String(await freePort()) });

    await append(EVENTS / 2, EVENTS / 2);
    await until(() => (answered.size > EVENTS / 2 ? true : undefined), 'the second half being dispatched', 90_000);
    await stopProcess(worker, 'SIGKILL');
    worker = fleet.start({ ROLE: 'worker', PORT: String(await freePort()) });

    await until(() => (delivered.size === EVENTS ? true : undefined), `all ${EVENTS} events delivered`, 150_000).catch(async (err) => {
      const rows = await orm.em.getConnection().execute(`select status, count(*)::int as n from webhook_deliveries group by status`);
      throw new Error(`${(err as Error).message}: ${delivered.size} delivered, ${answered.size} tried; deliveries ${JSON.stringify(rows)}\n${worker.output().slice(-3000)}`);
    });
    const copies = [...delivered.values()].filter((n) => n > 1).length;
    console.log(`webhooks crash: ${copies} events delivered more than once (same webhook-id)`);

    const statuses = await until(async () => {
      const rows = await orm.em.getConnection().execute<{ status: string; n: number }[]>(
        `select status, count(*)::int as n from webhook_deliveries where endpoint_id = ? group by status`,
        [webhookId],
      );
      const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
      return byStatus.delivered === EVENTS ? byStatus : undefined;
    }, 'every delivery recorded delivered');
    assert.deepEqual(statuses, { delivered: EVENTS });
    assert.equal(await stopProcess(worker), 0, worker.output());
  } finally {
    await orm.close();
    await receiver.close();
  }
});
