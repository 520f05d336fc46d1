// Benchmarks that hold Baileys sockets run in a child process: Baileys keeps timers alive for ~30 s after its
// sockets end, which would hold bench/run.ts (and the benchmarks after this one) up. The child exits once it has
// cleaned up and handed its rows over.
import { fork } from 'node:child_process';
import type { Row } from './types.ts';

type FromChild = { type: 'rows'; rows: Row[] } | { type: 'failed'; message: string };

// The parent's side: runs `file` (a benchmark module calling serveRows when it is the main module) and resolves
// with its rows. `timeoutMs` is a last resort: the child's own waits time out well before it, and it cleans up.
export function rowsFromChild(file: string, label: string, timeoutMs: number): Promise<Row[]> {
  const child = fork(file, [], { stdio: ['ignore', 2, 2, 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('message', (message: FromChild) => (message.type === 'rows' ? resolve(message.rows) : reject(new Error(message.message))));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} child exited with ${code ?? signal} before handing over rows`));
      // After its rows: a cleanup step failed in the child (it said which); the run must fail all the same.
      if (code !== 0) process.exitCode = 1;
    });
  });
}

// The child's side: measures, hands the rows (or the failure) over, and exits.
export async function serveRows(measure: () => Promise<Row[]>): Promise<never> {
  let result: FromChild;
  try {
    result = { type: 'rows', rows: await measure() };
  } catch (err) {
    result = { type: 'failed', message: String((err as Error)?.stack ?? err) };
  }
  await new Promise((resolve) => process.send!(result, resolve));
  // Everything is closed; only Baileys' leftover timers remain, and they would keep the process ~30 s for nothing.
  process.exit(process.exitCode ?? 0);
}
