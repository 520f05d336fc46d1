// The contract between bench/run.ts and each `*.bench.ts` module.

export interface Row {
  name: string;
  metric: string;
  platform: number;
  // The raw component alone, measured in the same run on the same machine, so the ratio survives hardware changes.
  baseline: number;
  unit: string;
  // platform / baseline; null where a ratio means nothing (e.g. error counts).
  ratio: number | null;
  better: 'higher' | 'lower';
}

// A benchmark module's default export.
export type Benchmark = () => Promise<Row[]>;
