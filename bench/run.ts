// Runs every `bench/*.bench.ts` (or those whose name contains an argument: `npm run bench -- http`) one after
// another, never in parallel, so they do not compete for the CPU, then prints one table of all results.
import { readdir } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { Benchmark, Row } from './types.ts';

const SUFFIX = '.bench.ts';

async function discover(filters: string[]): Promise<string[]> {
  const files = (await readdir(import.meta.dirname)).filter((f) => f.endsWith(SUFFIX)).sort();
  const names = files.map((f) => f.slice(0, -SUFFIX.length));
  return filters.length ? names.filter((n) => filters.some((f) => n.includes(f))) : names;
}

function format(value: number | null): string {
  if (value === null) return '-';
  if (Number.isInteger(value) || Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  // Three significant digits: a ratio such as 0.0234 must not round to 0.02.
  return value.toPrecision(3);
}

function printTable(rows: Row[]): void {
  const header = ['benchmark', 'metric', 'platform', 'baseline', 'unit', 'ratio (platform/baseline)', 'ratio is better when'];
  const body = rows.map((r) => [r.name, r.metric, format(r.platform), format(r.baseline), r.unit, format(r.ratio), r.better]);
  const numeric = new Set([2, 3, 5]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const cells of body) console.log(line(cells));
}

const names = await discover(process.argv.slice(2));
if (!names.length) {
  console.error(`no benchmark matches ${process.argv.slice(2).join(', ')}`);
  process.exit(1);
}
const rows: Row[] = [];
for (const name of names) {
  console.error(`running ${name}…`);
  try {
    const module = (await import(pathToFileURL(join(import.meta.dirname, name + SUFFIX)).href)) as { default: Benchmark };
    rows.push(...(await module.default()));
  } catch (err) {
    // One broken benchmark should not hide the others' results, but the run must still fail.
    console.error(`${name} failed:`, err);
    process.exitCode = 1;
  }
}
if (rows.length) printTable(rows);
