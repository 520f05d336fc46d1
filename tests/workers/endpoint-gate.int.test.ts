import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { EndpointGate } from '../../src/workers/webhooks/endpoint-gate.ts';
import { openTestCoordination, type Instance } from '../helpers/coordination.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { createTestResources, TEST_BACKENDS } from '../helpers/resources.ts';
import { until } from '../helpers/wait.ts';

// The per-endpoint limits on the suite's coordination store: slots in flight, starts per second, and slots of a
// dead holder.
const resources = createTestResources();
let database: Awaited<ReturnType<typeof openTestDatabase>> | undefined;
let store: Instance;
before(async () => {
  if (TEST_BACKENDS !== 'redis') database = await openTestDatabase(resources);
  store = await openTestCoordination(resources);
});
after(async () => {
  await store?.close();
  await database?.close();
  await resources.cleanup();
});

test('at most `concurrency` in flight per endpoint; a released slot is free again; endpoints are apart', async () => {
  const gate = new EndpointGate(store.coordination, 60_000);
  const first = await gate.acquire('whe_a', 2, null);
  const second = await gate.acquire('whe_a', 2, null);
  assert.ok(first && second);
  assert.equal(await gate.acquire('whe_a', 2, null), undefined, 'full');
  assert.ok(await gate.acquire('whe_b', 2, null), 'another endpoint has its own slots');
  await first();
  assert.ok(await gate.acquire('whe_a', 2, null), 'free again after a release');
});

test('at most `perSecond` starts within one second', async () => {
  const gate = new EndpointGate(store.coordination, 60_000);
  // Three starts inside one second (tried again should the second turn meanwhile).
  for (let tries = 0; ; tries++) {
    const endpoint = `whe_rate_${tries}`;
    const second = Math.floor(Date.now() / 1000);
    const granted = [];
    for (let i = 0; i < 3; i++) {
      const release = await gate.acquire(endpoint, 10, 2);
      granted.push(Boolean(release));
      await release?.();
    }
    if (Math.floor(Date.now() / 1000) !== second) continue;
    assert.deepEqual(granted, [true, true, false]);
    break;
  }
});

test('a slot whose holder died (never released) frees itself when its lease runs out', async () => {
  const gate = new EndpointGate(store.coordination, 300);
  assert.ok(await gate.acquire('whe_dead', 1, null));
  assert.equal(await gate.acquire('whe_dead', 1, null), undefined);
  await until(async () => ((await gate.acquire('whe_dead', 1, null)) ? true : undefined), 'the lease ran out');
});
