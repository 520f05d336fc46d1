import { readFile, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import sharp from 'sharp';
import type { FileKind } from '../domain/files.ts';
import { ffmpeg } from '../media/tools.ts';
import { blobKeyOf, previewKeyOf, type FileStorage } from './storage.ts';
import { scratchDir } from './scratch.ts';

// Previews are real thumbnails (JPEG, at most 320 px on the long side) of images and of a video's first frame, made
// on first request and kept in storage under a key derived from the file's bytes, so each is made once and shared
// by every file with those bytes. Other kinds have no preview.

export const PREVIEW_KINDS: readonly FileKind[] = ['image', 'video'];
const SIDE = 320;

const thumbnail = () => sharp({ failOn: 'none' }).rotate().resize(SIDE, SIDE, { fit: 'inside', withoutEnlargement: true }).flatten({ background: '#ffffff' }).jpeg({ quality: 75 });

async function firstFrame(source: Readable): Promise<Buffer> {
  const dir = await scratchDir('preview');
  try {
    // Containers keep their index anywhere (a MOV's at the end): ffmpeg reads a file, not a pipe.
    await pipeline(source, createWriteStream(join(dir, 'video')));
    await ffmpeg(['-i', join(dir, 'video'), '-frames:v', '1', '-q:v', '3', join(dir, 'frame.jpg')]);
    return await thumbnail().end(await readFile(join(dir, 'frame.jpg'))).toBuffer();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function imageThumbnail(source: Readable): Promise<Buffer> {
  const resize = thumbnail();
  source.once('error', (err) => resize.destroy(err));
  return source.pipe(resize).toBuffer();
}

// The storage key of the preview of the file with these bytes, making it if it is not there yet.
export async function previewKey(storage: FileStorage, file: { kind: FileKind; sha256: string }): Promise<{ key: string; size: number }> {
  const key = previewKeyOf(file.sha256);
  const existing = await storage.stat(key);
  if (existing) return { key, size: existing.size };
  const source = await storage.get(blobKeyOf(file.sha256));
  const jpeg = file.kind === 'video' ? await firstFrame(source) : await imageThumbnail(source);
  await storage.put(key, Readable.from([jpeg]), jpeg.length, 'image/jpeg');
  return { key, size: jpeg.length };
}
