// Counts what this process asks of PostgreSQL and Redis while it runs: every `pg` query (each one a round trip),
// and every ioredis command, with the round trips they make (a pipeline or MULTI is one). Statements are grouped by
// their text with literals and parameters blanked, Lua scripts by the name BullMQ gave them, so a profile shows which
// statements and scripts a send or a delivery costs. Installed by patching the two clients' prototypes: for
// benchmarks and profiles only, never imported by the platform.
import pg from 'pg';
import { Redis } from 'ioredis';

export interface RoundTrips {
  postgres: number;
  redis: number;
  redisCommands: number;
  // Statements and commands by name, most frequent first.
  byStatement: [string, number][];
  byCommand: [string, number][];
}

export interface RoundTripCounter {
  // Zeroes the counts.
  reset(): void;
  read(): RoundTrips;
}

// A benchmark's own polls connect with this application_name; their queries are not counted.
export const BENCH_PROBE = 'bench-probe';

const normalize = (text: string) =>
  text
    .replace(/\s+/g, ' ')
    .replace(/'(?:[^']|'')*'/g, "'…'")
    .replace(/\$\d+/g, '?')
    .replace(/\b\d+\b/g, 'N')
    .replace(/(\?, )+\?/g, '?…')
    .trim()
    .slice(0, 140);

const sorted = (counts: Map<string, number>) => [...counts].sort((a, b) => b[1] - a[1]);

let installed: RoundTripCounter | undefined;

export function countRoundTrips(): RoundTripCounter {
  if (installed) return installed;
  const statements = new Map<string, number>();
  const commands = new Map<string, number>();
  let redisTrips = 0;
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  (pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (this: pg.Client, ...args: unknown[]) {
    if ((this as unknown as { connectionParameters?: { application_name?: string } }).connectionParameters?.application_name !== BENCH_PROBE) {
      const first = args[0] as string | { text?: string } | undefined;
      bump(statements, normalize(typeof first === 'string' ? first : (first?.text ?? '?')));
    }
    return query.apply(this, args);
  };

  const scriptNames = new Map<string, string>();
  const nameOf = (redis: Redis, name: string, args: unknown[]) => {
    if (name !== 'evalsha' && name !== 'eval') return name;
    const sha = String(args[0]);
    if (!scriptNames.has(sha)) {
      const scripts = (redis as unknown as { scriptsSet?: Record<string, { sha: string }> }).scriptsSet ?? {};
      for (const [script, { sha: known }] of Object.entries(scripts)) scriptNames.set(known, script);
    }
    return `script ${scriptNames.get(sha) ?? sha.slice(0, 8)}`;
  };
  const send = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function (this: Redis, command, stream) {
    const { name, args, pipelineIndex } = command as unknown as { name: string; args: unknown[]; pipelineIndex?: number };
    bump(commands, nameOf(this, name, args));
    if (pipelineIndex === undefined || pipelineIndex === 0) redisTrips++;
    return send.call(this, command, stream);
  };

  installed = {
    reset() {
      statements.clear();
      commands.clear();
      redisTrips = 0;
    },
    read() {
      const total = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0);
      return { postgres: total(statements), redis: redisTrips, redisCommands: total(commands), byStatement: sorted(statements), byCommand: sorted(commands) };
    },
  };
  return installed;
}
