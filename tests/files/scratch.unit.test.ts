import assert from 'node:assert/strict';
import { access, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { scratchDir, sweepScratch } from '../../src/files/scratch.ts';

const exists = (path: string) => access(path).then(() => true, () => false);

test("a start sweeps scratch directories a killed process left, and leaves those of work under way", async () => {
  const stale = await scratchDir('upload');
  await writeFile(join(stale, 'body'), 'half an upload');
  const old = new Date(Date.now() - 7 * 3_600_000);
  await utimes(stale, old, old);
  const fresh = await scratchDir('upload');
  assert.ok((await sweepScratch(new Date())) >= 1);
  assert.equal(await exists(stale), false);
  assert.equal(await exists(fresh), true);
  await rm(fresh, { recursive: true });
});
