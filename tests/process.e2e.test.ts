import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { createTestResources, REDIS_URL, type TestResources } from './helpers/resources.ts';
import { until } from './helpers/wait.ts';

// The real entry point, as `npm start` runs it: roles, readiness, and a clean exit on SIGTERM.
let resources: TestResources;
before(() => {
  resources = createTestResources();
});
after(() => resources.cleanup());

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

interface Started {
  child: ChildProcess;
  output: () => string;
}

function start(env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['src/main.ts'], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: resources.databaseUrl,
      REDIS_URL,
      REDIS_PREFIX: resources.redisPrefix,
      ADMIN_PASSWORD: 'process-test-password',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return { child, output: () => output };
}

async function stop({ child }: Started): Promise<number | null> {
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  return code as number | null;
}

test('ROLE=all serves /ready, /docs and /admin/queues, and drains to exit 0 on SIGTERM', async () => {
  const port = await freePort();
  const platform = start({ PORT: String(port) });
  const base = `http://127.0.0.1:${port}`;
  try {
    await until(async () => ((await fetch(`${base}/ready`).catch(() => undefined))?.status === 200 ? true : undefined), '/ready');
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
