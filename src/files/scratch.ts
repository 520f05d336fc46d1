import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Scratch directories for bytes on their way (an upload being typed, media being converted or downloaded). Each
// is removed when its work ends; a process killed meanwhile leaves its own behind, which the next start sweeps.

const PREFIX = 'wa-scratch-';

export function scratchDir(purpose: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `${PREFIX}${purpose}-`));
}

// Older than any work takes (a 100 MiB conversion is minutes): a directory that old belongs to a dead process.
export async function sweepScratch(now: Date, olderThanMs = 6 * 3_600_000): Promise<number> {
  let swept = 0;
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const path = join(tmpdir(), name);
    const info = await stat(path).catch(() => undefined);
    if (info && now.getTime() - info.mtimeMs > olderThanMs) {
      await rm(path, { recursive: true, force: true });
      swept += 1;
    }
  }
  return swept;
}
