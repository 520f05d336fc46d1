import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { ffmpeg, MediaConversionError, probe } from './tools.ts';

export { MediaConversionError } from './tools.ts';

// What WhatsApp needs of a file before it is sent, done in the worker when the message's turn comes: the formats its
// apps play (H.264 MP4 video, JPEG/PNG images, Ogg/Opus voice notes, 512×512 WebP stickers) and what it shows before
// a download (a small JPEG thumbnail, dimensions, durations, a voice note's waveform). Baileys computes some of this
// itself, but skips what fails silently; here each is done or the message fails with the reason.

export type SendKind = 'image' | 'video' | 'audio' | 'voice' | 'sticker' | 'document';

export interface PreparedMedia {
  // The bytes to upload: the input itself when nothing needed changing.
  path: string;
  mimetype: string;
  size: number;
  seconds?: number;
  width?: number;
  height?: number;
  jpegThumbnail?: Buffer;
  // A voice note's 64 bars (0–100), as WhatsApp draws them.
  waveform?: Uint8Array;
  // An animated GIF sent as an image goes as a looping MP4, WhatsApp's own way.
  gifPlayback?: boolean;
  isAnimated?: boolean;
}

type StoredKind = 'image' | 'video' | 'audio' | 'document';

// Which stored files can go as which kind (checked by the API before a message is queued).
export function canSendAs(kind: SendKind, stored: StoredKind, _mimetype: string): boolean {
  switch (kind) {
    case 'image':
    case 'sticker':
      return stored === 'image';
    case 'video':
      return stored === 'video';
    case 'audio':
      return stored === 'audio';
    case 'voice':
      return stored === 'audio' || stored === 'video';
    case 'document':
      return true;
  }
}

// Baileys' own thumbnail width: what WhatsApp shows blurred until the media is downloaded.
const THUMBNAIL_WIDTH = 32;
const STICKER_SIZE = 512;
const STATIC_STICKER_BYTES = 100 * 1024;
const ANIMATED_STICKER_BYTES = 500 * 1024;
const WAVEFORM_BARS = 64;
// Long side of a converted video: clear on a phone, and quick to encode on a small worker.
const VIDEO_LONG_SIDE = 1280;

const sizeOf = async (path: string) => (await stat(path)).size;
const thumbnailOf = (input: string | Buffer) => sharp(input).rotate().resize(THUMBNAIL_WIDTH).jpeg({ quality: 50 }).toBuffer();

export async function prepareMedia(kind: SendKind, input: string, mimetype: string, workDir: string, signal?: AbortSignal): Promise<PreparedMedia> {
  switch (kind) {
    case 'image':
      return prepareImage(input, workDir, signal);
    case 'video':
      return prepareVideo(input, workDir, signal);
    case 'audio':
      return prepareAudio(input, mimetype, workDir, signal);
    case 'voice':
      return prepareVoice(input, workDir, signal);
    case 'sticker':
      return prepareSticker(input, workDir);
    case 'document':
      return { path: input, mimetype, size: await sizeOf(input) };
  }
}

async function imageMetadata(input: string) {
  try {
    return await sharp(input, { animated: true }).metadata();
  } catch (err) {
    throw new MediaConversionError(`cannot read this image: ${(err as Error).message}`);
  }
}

async function prepareImage(input: string, workDir: string, signal?: AbortSignal): Promise<PreparedMedia> {
  const meta = await imageMetadata(input);
  if (meta.format === 'gif' && (meta.pages ?? 1) > 1) return { ...(await prepareVideo(await gifToMp4(input, workDir, signal), workDir, signal)), gifPlayback: true };
  const upright = !meta.orientation || meta.orientation === 1;
  let path = input;
  let mimetype = meta.format === 'png' ? 'image/png' : 'image/jpeg';
  // JPEG and PNG go as they are; WebP and still GIFs become JPEG, and a photo turned by its EXIF tag is turned for good.
  if (!(upright && (meta.format === 'jpeg' || meta.format === 'png'))) {
    path = join(workDir, 'image.jpg');
    mimetype = 'image/jpeg';
    await sharp(input).rotate().flatten({ background: '#ffffff' }).jpeg({ quality: 85 }).toFile(path);
  }
  const final = await sharp(path).metadata();
  return { path, mimetype, size: await sizeOf(path), width: final.width, height: final.height, jpegThumbnail: await thumbnailOf(path) };
}

async function gifToMp4(input: string, workDir: string, signal?: AbortSignal): Promise<string> {
  const out = join(workDir, 'gif.mp4');
  await ffmpeg(['-i', input, '-movflags', '+faststart', '-pix_fmt', 'yuv420p', '-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2', '-c:v', 'libx264', '-an', out], signal);
  return out;
}

async function prepareVideo(input: string, workDir: string, signal?: AbortSignal): Promise<PreparedMedia> {
  const before = await probe(input, signal);
  if (!before.video) throw new MediaConversionError('this file has no video stream');
  let path = input;
  const playable = before.format.includes('mp4') && before.video.codec === 'h264' && (!before.audio || before.audio.codec === 'aac');
  if (!playable) {
    path = join(workDir, 'video.mp4');
    const scale = `scale='if(gt(iw,ih),min(${VIDEO_LONG_SIDE},iw),-2)':'if(gt(iw,ih),-2,min(${VIDEO_LONG_SIDE},ih))',scale=trunc(iw/2)*2:trunc(ih/2)*2`;
    await ffmpeg(['-i', input, '-vf', scale, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '26', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', '-movflags', '+faststart', path], signal);
  }
  const after = playable ? before : await probe(path, signal);
  const frame = join(workDir, 'frame.jpg');
  await ffmpeg(['-i', path, '-frames:v', '1', '-q:v', '4', frame], signal);
  return {
    path,
    mimetype: 'video/mp4',
    size: await sizeOf(path),
    ...(after.seconds ? { seconds: after.seconds } : {}),
    ...(after.video ? { width: after.video.width, height: after.video.height } : {}),
    jpegThumbnail: await thumbnailOf(frame),
  };
}

// Formats WhatsApp plays as an audio message as they are; anything else (WAV, Ogg Vorbis) becomes AAC in M4A.
async function prepareAudio(input: string, mimetype: string, workDir: string, signal?: AbortSignal): Promise<PreparedMedia> {
  const info = await probe(input, signal);
  if (!info.audio) throw new MediaConversionError('this file has no audio stream');
  const playable = info.audio.codec === 'mp3' || info.audio.codec === 'aac' || info.audio.codec === 'opus';
  let path = input;
  let type = mimetype;
  if (!playable) {
    path = join(workDir, 'audio.m4a');
    type = 'audio/mp4';
    await ffmpeg(['-i', input, '-vn', '-c:a', 'aac', '-b:a', '128k', '-f', 'ipod', path], signal);
  } else if (info.audio.codec === 'opus') {
    type = 'audio/ogg; codecs=opus';
  }
  return { path, mimetype: type, size: await sizeOf(path), ...(info.seconds ? { seconds: info.seconds } : {}) };
}

// WhatsApp plays voice notes only as Opus in Ogg; mono at 48 kHz and 32 kb/s is what its apps record.
async function prepareVoice(input: string, workDir: string, signal?: AbortSignal): Promise<PreparedMedia> {
  const path = join(workDir, 'voice.ogg');
  await ffmpeg(['-i', input, '-vn', '-ac', '1', '-ar', '48000', '-c:a', 'libopus', '-b:a', '32k', '-application', 'voip', path], signal);
  const info = await probe(path, signal);
  const pcm = await ffmpeg(['-i', path, '-ac', '1', '-ar', '8000', '-f', 's16le', '-'], signal);
  return { path, mimetype: 'audio/ogg; codecs=opus', size: await sizeOf(path), ...(info.seconds ? { seconds: info.seconds } : {}), waveform: waveformOf(pcm) };
}

// Peak loudness in 64 equal slices of the recording, scaled so the loudest is 100.
export function waveformOf(pcm: Buffer): Uint8Array {
  const samples = Math.floor(pcm.length / 2);
  const peaks = new Array<number>(WAVEFORM_BARS).fill(0);
  for (let i = 0; i < samples; i++) {
    const bar = Math.min(WAVEFORM_BARS - 1, Math.floor((i * WAVEFORM_BARS) / samples));
    peaks[bar] = Math.max(peaks[bar]!, Math.abs(pcm.readInt16LE(i * 2)));
  }
  const loudest = Math.max(1, ...peaks);
  return Uint8Array.from(peaks, (peak) => Math.round((peak / loudest) * 100));
}

// A sticker is 512×512 WebP on a transparent ground, at most 100 KB still or 500 KB animated: quality is lowered
// until it fits.
async function prepareSticker(input: string, workDir: string): Promise<PreparedMedia> {
  const meta = await imageMetadata(input);
  const animated = (meta.pages ?? 1) > 1;
  const limit = animated ? ANIMATED_STICKER_BYTES : STATIC_STICKER_BYTES;
  const path = join(workDir, 'sticker.webp');
  for (const quality of [80, 60, 40, 25, 10]) {
    const info = await sharp(input, { animated })
      .resize(STICKER_SIZE, STICKER_SIZE, { fit: 'contain', background: { r: 0, g: 0, b: 0, alpha: 0 } })
      .webp({ quality, effort: 4 })
      .toFile(path);
    if (info.size <= limit) return { path, mimetype: 'image/webp', size: info.size, width: STICKER_SIZE, height: STICKER_SIZE, ...(animated ? { isAnimated: true } : {}) };
  }
  throw new MediaConversionError(`this image does not fit in a sticker's ${limit} bytes even at low quality`);
}
