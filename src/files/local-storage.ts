import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageNotFoundError, type FileStorage } from './storage.ts';

// Files in a directory. A blob is written to `tmp/` and renamed into place once complete and of the announced
// size, so a crash mid-write leaves only a temporary file and never a short blob under its key. The API and the
// workers share the directory, so a start sweeps only temporary files older than any write takes.
const STALE_TMP_MS = 6 * 3_600_000;

export async function createLocalStorage(dir: string): Promise<FileStorage> {
  const root = resolve(dir);
  const tmp = join(root, 'tmp');
  await mkdir(tmp, { recursive: true });
  for (const name of await readdir(tmp)) {
    const info = await stat(join(tmp, name)).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_TMP_MS) await rm(join(tmp, name), { recursive: true, force: true });
  }

  const pathOf = (key: string) => {
    const path = resolve(root, key);
    if (!path.startsWith(root + sep) || path.startsWith(tmp + sep) || key.includes('\0')) throw new Error(`invalid storage key ${JSON.stringify(key)}`);
    return path;
  };
  const statOf = async (key: string) => {
    try {
      const info = await stat(pathOf(key));
      return info.isFile() ? { size: info.size } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };

  return {
    kind: 'local',
    async put(key, body, size) {
      const target = pathOf(key);
      if (await statOf(key)) {
        body.resume();
        return;
      }
      const partial = join(tmp, randomBytes(12).toString('hex'));
      let written = 0;
      const count = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          written += chunk.length;
          callback(written > size ? new Error(`body longer than the announced ${size} bytes`) : null, chunk);
        },
      });
      try {
        await pipeline(body, count, createWriteStream(partial, { flags: 'wx' }));
        if (written !== size) throw new Error(`body of ${written} bytes, ${size} announced`);
        await mkdir(dirname(target), { recursive: true });
        await rename(partial, target);
      } finally {
        await rm(partial, { force: true });
      }
    },
    async get(key, range): Promise<Readable> {
      const info = await statOf(key);
      if (!info) throw new StorageNotFoundError(key);
      return createReadStream(pathOf(key), range ? { start: range.start, end: range.end } : {});
    },
    stat: statOf,
    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
    async *list(prefix) {
      const base = pathOf(prefix.replace(/\/+$/, ''));
      const entries = await readdir(base, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [];
        throw err;
      });
      for (const entry of entries) {
        if (!entry.isFile()) continue;
        const path = join(entry.parentPath, entry.name);
        const info = await stat(path).catch(() => undefined);
        if (info) yield { key: relative(root, path).split(sep).join('/'), modifiedAt: info.mtime };
      }
    },
    async close() {},
  };
}
