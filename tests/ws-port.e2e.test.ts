import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { freePort, startPlatformProcess, stopProcess, untilReady } from './helpers/processes.ts';
import { createTestResources, type TestResources } from './helpers/resources.ts';

// `npm start` (src/main.ts) listens on seed 004's WebSocket port beside the API. The tests give it a free port:
// 3001 itself would collide between test files running in parallel.
let resources: TestResources;
before(() => {
  resources = createTestResources();
});
after(() => resources.cleanup());

const SEED_API_TOKEN = 'test123';

test("the process serves seed 004's ws://host:WS_PORT?token=<API_TOKEN> and closes it on SIGTERM", async () => {
  const [port, wsPort] = [await freePort(), await freePort()];
  const platform = startPlatformProcess(resources, { PORT: String(port), WS_PORT: String(wsPort), API_TOKEN: SEED_API_TOKEN });
  try {
    await untilReady(`http://127.0.0.1:${port}`, platform);
    assert.match(platform.output(), new RegExp(`"port":${wsPort}.*WebSocket port listening`));
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort}?token=${SEED_API_TOKEN}`);
    await once(ws, 'open');
    ws.send(JSON.stringify({ type: 'subscribe', sessionId: 'user_1_device_my-business-phone' }));
    const [raw] = await once(ws, 'message');
    assert.deepEqual(JSON.parse(String(raw)), { type: 'subscribed', sessionId: 'user_1_device_my-business-phone', format: 'both' });
    const closed = once(ws, 'close');
    assert.equal(await stopProcess(platform), 0, platform.output());
    assert.equal((await closed)[0], 1001, 'the server said it is going away');
  } finally {
    await stopProcess(platform);
  }
});

test('a WS_PORT in use stops the start with a sentence saying what to do', async () => {
  const taken = createServer().listen(0, '0.0.0.0');
  await once(taken, 'listening');
  const { port: wsPort } = taken.address() as { port: number };
  try {
    const failing = startPlatformProcess(resources, { PORT: String(await freePort()), WS_PORT: String(wsPort) });
    const [code] = await once(failing.child, 'exit');
    assert.equal(code, 1, failing.output());
    assert.match(failing.output(), new RegExp(`WS_PORT ${wsPort} is in use: set WS_PORT to a free port, or to off`));
  } finally {
    taken.close();
  }
});
