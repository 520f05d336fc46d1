import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { freePort, startPlatformProcess, stopProcess, untilReady, type PlatformProcess } from './helpers/processes.ts';
import { createTestResources, type TestResources } from './helpers/resources.ts';
import { until } from './helpers/wait.ts';

// The real entry point, as `npm start` runs it: roles, readiness, and a clean exit on SIGTERM.
let resources: TestResources;
before(() => {
  resources = createTestResources();
});
after(() => resources.cleanup());

const start = (env: Record<string, string>): PlatformProcess => startPlatformProcess(resources, env);
const stop = (started: PlatformProcess) => stopProcess(started);

test('ROLE=all serves /ready, /docs and /admin/queues, and drains to exit 0 on SIGTERM', async () => {
  const port = await freePort();
  const platform = start({ PORT: String(port) });
  const base = `http://127.0.0.1:${port}`;
  try {
    await untilReady(base, platform);
    assert.equal((await fetch(`${base}/docs/`)).status, 200);
    const basic = `Basic ${Buffer.from('admin:process-test-password').toString('base64')}`;
    assert.equal((await fetch(`${base}/admin/queues`, { headers: { authorization: basic } })).status, 200);
  } finally {
    assert.equal(await stop(platform), 0, platform.output());
  }
  assert.match(platform.output(), /"msg":"stopped"/);
});

test('ROLE=api and ROLE=worker run apart: only the API listens', async () => {
  const port = await freePort();
  const worker = start({ ROLE: 'worker', PORT: String(port) });
  const api = start({ ROLE: 'api', PORT: String(await freePort()) });
  try {
    await until(() => (/"role":"worker".*"msg":"platform started"/.test(worker.output()) ? true : undefined), 'the worker');
    await assert.rejects(fetch(`http://127.0.0.1:${port}/health`), 'the worker has no HTTP server');
    await until(() => (/"role":"api".*"msg":"platform started"/.test(api.output()) ? true : undefined), 'the API');
  } finally {
    const codes = await Promise.all([stop(worker), stop(api)]);
    assert.deepEqual(codes, [0, 0], worker.output() + api.output());
  }
});

test('an unreachable Redis stops the start with a sentence saying what to do', async () => {
  const failing = start({ REDIS_URL: 'redis://127.0.0.1:1', PORT: String(await freePort()) });
  const [code] = await once(failing.child, 'exit');
  assert.equal(code, 1);
  assert.match(failing.output(), /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 .*start it with \\"docker compose up -d redis\\"/);
});

test('an invalid configuration is refused before anything starts', async () => {
  const failing = start({ NODE_ENV: 'production', ADMIN_PASSWORD: '' });
  const [code] = await once(failing.child, 'exit');
  assert.equal(code, 1);
  assert.match(failing.output(), /JWT_SECRET is required in production/);
});
