// A CPU profile of another Node.js process (started with --inspect=127.0.0.1:<port>) over the DevTools protocol,
// for just the stretch the benchmark cares about: `node --cpu-prof` would cover the whole process, restoring
// every session included.
import { until } from '../tests/helpers/wait.ts';
import { summarize, type CpuSummary, type Profile } from './cpu-profile.ts';

export async function profileOverInspector(port: number): Promise<{ stop(): Promise<CpuSummary> }> {
  const targets = await until(
    async () => ((await fetch(`http://127.0.0.1:${port}/json/list`).catch(() => undefined))?.json() as Promise<{ webSocketDebuggerUrl: string }[]> | undefined),
    `the inspector on port ${port}`,
  );
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error(`cannot reach the inspector on port ${port}`));
  });
  const pending = new Map<number, (result: unknown) => void>();
  socket.onmessage = (message) => {
    const { id, result } = JSON.parse(String(message.data)) as { id?: number; result?: unknown };
    if (id !== undefined) pending.get(id)?.(result);
  };
  let next = 0;
  const post = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++next;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  return {
    async stop() {
      const { profile } = (await post('Profiler.stop')) as { profile: Profile };
      socket.close();
      return summarize(profile);
    },
  };
}
