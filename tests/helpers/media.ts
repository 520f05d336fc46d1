import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ffmpeg } from '../../src/media/tools.ts';

// Real media for tests, made on the spot (small: a second or two, a few hundred pixels).
export const makeMedia = {
  jpeg: (color = '#3366cc', width = 640, height = 480) => sharp({ create: { width, height, channels: 3, background: color } }).jpeg().toBuffer(),
  png: (color = '#cc3366') => sharp({ create: { width: 300, height: 200, channels: 4, background: color } }).png().toBuffer(),
  mp4: () => viaFfmpeg('clip.mp4', ['-f', 'lavfi', '-i', 'testsrc=duration=1:size=320x240:rate=10', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest']),
  mp3: () => viaFfmpeg('tone.mp3', ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'libmp3lame']),
  wav: () => viaFfmpeg('tone.wav', ['-f', 'lavfi', '-i', 'sine=frequency=660:duration=1']),
  // The smallest well-formed PDF: a header, one empty page, a trailer.
  pdf: (text = 'hello') =>
    Buffer.from(`%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n% ${text}\ntrailer<</Root 1 0 R>>\n%%EOF\n`),
  // An ELF header: what a Linux executable starts with.
  executable: () => Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(4096, 0x90)]),
};

async function viaFfmpeg(name: string, args: string[]): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'wa-test-media-'));
  try {
    await ffmpeg([...args, join(dir, name)]);
    return await readFile(join(dir, name));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface FilePart {
  name: string;
  filename: string;
  data: Buffer;
  type?: string;
}

// A multipart/form-data body with its parts in the order given (fields and files interleaved as a client sends them).
export async function multipart(parts: (FilePart | [string, string])[]): Promise<{ body: Buffer; headers: Record<string, string> }> {
  const form = new FormData();
  for (const part of parts) {
    if (Array.isArray(part)) form.append(part[0], part[1]);
    else form.append(part.name, new Blob([new Uint8Array(part.data)], { type: part.type ?? 'application/octet-stream' }), part.filename);
  }
  const encoded = new Response(form);
  return { body: Buffer.from(await encoded.arrayBuffer()), headers: { 'content-type': encoded.headers.get('content-type')! } };
}
