import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { freePort } from '../helpers/processes.ts';
import { backendEnv, createTestResources, type TestResources } from '../helpers/resources.ts';
import { until } from '../helpers/wait.ts';
import { shell } from './seed-platform.ts';

// `npm run demo` (demo/offline.ts) as a user runs it: a child process on free ports with its own database and
// Redis prefix (or, in the embedded mode, data directory) and otherwise the development defaults; then the commands
// it prints, run as printed.
let resources: TestResources;
let demo: ChildProcess;
let output = '';
before(async () => {
  resources = createTestResources('demo');
  const [port, simulatorPort, wsPort] = [await freePort(), await freePort(), await freePort()];
  demo = spawn(process.execPath, ['demo/offline.ts'], {
    env: {
      PATH: process.env.PATH,
      ...backendEnv(resources),
      PORT: String(port),
      SIMULATOR_PORT: String(simulatorPort),
      // Seed 004's WebSocket port, off the shared default so parallel runs do not collide.
      WS_PORT: String(wsPort),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  demo.stdout!.on('data', (chunk) => (output += chunk));
  demo.stderr!.on('data', (chunk) => (output += chunk));
  await until(() => {
    if (demo.exitCode !== null) throw new Error(`the demo exited (${demo.exitCode}):\n${output}`);
    return output.includes('Simulated phones:') ? true : undefined;
  }, 'the demo to print its commands', 90_000);
});
after(async () => {
  if (demo && demo.exitCode === null && demo.signalCode === null) {
    demo.kill('SIGTERM');
    await once(demo, 'exit');
  }
  await resources?.cleanup();
});

// A printed command: the text after its label, with the lines it continues onto (a trailing `\`).
function printedCommand(label: string): string {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => line.trimStart().startsWith(`${label}:`));
  assert.ok(start >= 0, `"${label}" in the demo's output:\n${output}`);
  const command = [lines[start]!.slice(lines[start]!.indexOf(':') + 1).trimStart()];
  for (let i = start; lines[i]!.endsWith('\\'); i++) command.push(lines[i + 1]!);
  return command.join('\n');
}

test('npm run demo › its addresses answer (the platform, its API docs, the simulator)', async () => {
  const platform = /the platform is on (http:\/\/\S+) \(API docs at (\/\S+)\)/.exec(output);
  assert.ok(platform, output);
  assert.equal((await fetch(`${platform[1]}${platform[2]}`)).status, 200, 'the API docs');
  const control = /Simulated phones: (http:\/\/\S+)/.exec(output)![1]!;
  assert.ok((await fetch(control).catch(() => undefined)) !== undefined, `${control} answers`);
});

test('npm run demo › "Create a device" and "Watch it" work as printed: the device is linked by a simulated phone', { timeout: 90_000 }, async () => {
  // Watch it first, so everything the device goes through is seen.
  const watch = printedCommand('Watch it');
  assert.match(watch, /^curl -N /);
  let watched = '';
  const watcher = spawn('bash', ['-c', watch], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  watcher.stdout!.on('data', (chunk) => (watched += chunk));
  try {
    // The stream opens with its reconnect delay; anything else (an error body, curl exiting) is a failure.
    await until(() => {
      if (watcher.exitCode !== null) throw new Error(`the watch command exited (${watcher.exitCode}): ${watched}`);
      return watched.startsWith('retry:') ? true : undefined;
    }, `the stream to open (${watched})`, 10_000);

    const create = printedCommand('Create a device');
    assert.match(create, /^curl -X POST /);
    const answer = JSON.parse(await shell(create));
    assert.equal(answer.success, true, JSON.stringify(answer));
    const { id, sessionId } = answer.device;

    await until(() => (output.includes(`scanned the QR of device ${id}`) ? true : undefined), 'the demo’s phone to scan the QR');
    await until(() => (/event: device\.connected/.test(watched) ? true : undefined), `device.connected on the watched stream:\n${watched}`);
    assert.ok(watched.includes(sessionId), 'the stream names the session');
    assert.equal(watcher.exitCode, null, 'the stream stays open');
  } finally {
    watcher.kill('SIGTERM');
  }
});
