// A CPU profile of this process (V8's sampling profiler through node:inspector) summed by self time: per package
// (node_modules/<name>), per folder of ours (src/<folder>, simulator), Node.js internals and the garbage collector,
// and the functions that cost most. What bench/profile.ts prints for a send and a webhook delivery.
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
export interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface CpuSummary {
  totalMs: number;
  byPlace: [string, number][];
  byFunction: [string, number][];
}

function placeOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/');
    return first!.startsWith('@') ? `${first}/${second}` : first!;
  }
  const ours = /\/(src|simulator|bench|tests)\/(?:([^/]+)\/)?[^/]+$/.exec(url);
  if (ours) return ours[1] === 'src' && ours[2] ? `src/${ours[2]}` : ours[1]!;
  if (url.startsWith('node:')) return 'node internals';
  return url;
}

// Self time per place and per function of a V8 CPU profile (this process's, or a `.cpuprofile` that
// `node --cpu-prof` wrote for another).
export function summarize(profile: Profile): CpuSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const places = new Map<string, number>();
  const functions = new Map<string, number>();
  let totalMs = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    totalMs += ms;
    const place = placeOf(url, functionName);
    places.set(place, (places.get(place) ?? 0) + ms);
    const fn = `${functionName || '(anonymous)'} ${place}${url ? `:${lineNumber + 1}` : ''}`;
    functions.set(fn, (functions.get(fn) ?? 0) + ms);
  }
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return { totalMs, byPlace: sorted(places), byFunction: sorted(functions) };
}

export async function startCpuProfile(): Promise<{ stop(savePath?: string): Promise<CpuSummary> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return {
    async stop(savePath) {
      const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
      session.disconnect();
      if (savePath) await writeFile(savePath, JSON.stringify(profile));
      return summarize(profile);
    },
  };
}
