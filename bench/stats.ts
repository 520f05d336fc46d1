// Small numeric helpers shared by the benchmarks.
import { readFileSync } from 'node:fs';

// Nearest-rank percentile of samples in any order (p in 0..1).
export function percentile(samples: ArrayLike<number>, p: number): number {
  if (!samples.length) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

// Wall-clock milliseconds with sub-millisecond precision that agree across worker threads (each thread has its
// own performance.now() origin, so raw now() values cannot be compared between them).
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

// Every step runs even when one before it fails: a failed run must not leave databases, keys or sockets behind.
export async function cleanupAll(label: string, steps: (() => Promise<unknown> | unknown)[]): Promise<void> {
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      console.error(`${label}: cleanup failed:`, err);
      process.exitCode = 1;
    }
  }
}

// The machine's CPU counters (Linux /proc/stat, in USER_HZ ticks; empty elsewhere). Fields: user nice system idle
// iowait irq softirq steal.
function cpuTicks(): number[] {
  try {
    return readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  } catch {
    return [];
  }
}

function ticksSince(before: number[]): number[] {
  return cpuTicks().map((v, i) => v - (before[i] ?? 0));
}

// Share of CPU time the hypervisor gave to other guests while `stop` was pending (NaN without /proc/stat). On a
// shared cloud host it can swing run-to-run figures far more than any code change, so benchmarks report it.
export function cpuSteal(): () => number {
  const before = cpuTicks();
  return () => {
    const delta = ticksSince(before);
    const total = delta.slice(0, 8).reduce((a, b) => a + b, 0);
    return total > 0 && delta.length >= 8 ? delta[7]! / total : Number.NaN;
  };
}

// Milliseconds of CPU the whole machine spent busy (every core, every process: PostgreSQL and Redis too, and
// anyone else's work on a shared machine) while `stop` was pending; NaN without /proc/stat.
export function machineCpuMs(): () => number {
  const before = cpuTicks();
  return () => {
    const [user, nice, system, , , irq, softirq] = ticksSince(before);
    if (softirq === undefined) return Number.NaN;
    // USER_HZ is 100 on every Linux Node.js runs on.
    return (user! + nice! + system! + irq! + softirq) * 10;
  };
}

export function warnOnSteal(label: string, share: number): void {
  if (share > 0.05) console.error(`${label}: ${(share * 100).toFixed(0)}% of CPU time was stolen by the hypervisor during the run; its figures are noisy`);
}

export interface ProcessUsage {
  // User + system CPU of the process since it started, and its resident memory now.
  cpuMs: number;
  rssBytes: number;
}

// Another process's usage from /proc (Linux): a platform process the benchmark started, whose CPU must be read
// apart from the load generator's and the simulator's. Undefined once the process is gone.
export function processUsage(pid: number): ProcessUsage | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields counted from 3 start after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [utime, stime] = [Number(fields[11]), Number(fields[12])];
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
    // USER_HZ is 100 on every Linux Node.js runs on.
    return { cpuMs: (utime + stime) * 10, rssBytes: rssKb * 1024 };
  } catch {
    return undefined;
  }
}
