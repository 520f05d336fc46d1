import { execFile } from 'node:child_process';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import ffprobeInstaller from '@ffprobe-installer/ffprobe';

// ffmpeg and ffprobe, as static binaries installed from the npm registry (no system package needed), run with
// arguments as an array (never a shell), a deadline, and the end of their complaint kept for the error.

const TIMEOUT_MS = 120_000;
const MAX_OUTPUT = 64 * 1024 * 1024;

// This input cannot become what was asked for: the message fails with the reason (retrying changes nothing).
export class MediaConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaConversionError';
  }
}

function run(binary: string, args: string[], signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { encoding: 'buffer', maxBuffer: MAX_OUTPUT, timeout: TIMEOUT_MS, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if ((err as NodeJS.ErrnoException & { killed?: boolean }).killed || err.name === 'AbortError') return reject(new Error(`${binary.split('/').at(-1)} did not finish in time`));
      const last = stderr.toString('utf8').trim().split('\n').at(-1) ?? err.message;
      reject(new MediaConversionError(`cannot convert this media: ${last}`));
    });
  });
}

export const ffmpeg = (args: string[], signal?: AbortSignal) => run(ffmpegInstaller.path, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], signal);

export interface Probe {
  format: string;
  seconds?: number;
  video?: { codec: string; width: number; height: number };
  audio?: { codec: string };
}

export async function probe(path: string, signal?: AbortSignal): Promise<Probe> {
  const out = await run(ffprobeInstaller.path, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path], signal);
  const info = JSON.parse(out.toString('utf8')) as {
    format?: { format_name?: string; duration?: string };
    streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number; disposition?: { attached_pic?: number } }[];
  };
  const video = info.streams?.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = info.streams?.find((s) => s.codec_type === 'audio');
  const duration = Number(info.format?.duration);
  return {
    format: info.format?.format_name ?? '',
    ...(Number.isFinite(duration) ? { seconds: Math.max(1, Math.round(duration)) } : {}),
    ...(video ? { video: { codec: video.codec_name ?? '', width: video.width ?? 0, height: video.height ?? 0 } } : {}),
    ...(audio ? { audio: { codec: audio.codec_name ?? '' } } : {}),
  };
}
