import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileTypeFromFile } from 'file-type';
import sharp from 'sharp';
import { canSendAs, MediaConversionError, prepareMedia, waveformOf } from '../../src/media/prepare.ts';
import { ffmpeg, probe } from '../../src/media/tools.ts';

// Each conversion, checked by what the output really is (probed), not by its name. Media made here, a few seconds long.

let dir: string;
const path = (name: string) => join(dir, name);
const work = async (name: string) => mkdtemp(join(dir, `${name}-`));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wa-media-test-'));
  await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3366cc' } }).png().toFile(path('photo.png'));
  await sharp({ create: { width: 300, height: 200, channels: 3, background: '#cc6633' } }).webp().toFile(path('photo.webp'));
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=duration=2:size=320x240:rate=10', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:v', 'mpeg4', '-c:a', 'pcm_s16le', path('clip.avi')]);
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=duration=1:size=120x80:rate=8', path('moving.gif')]);
  // A tone, a second of silence, a tone: the waveform must show the gap.
  await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=mono', '-f', 'lavfi', '-i', 'sine=frequency=660:duration=1',
    '-filter_complex', '[1]atrim=duration=1[s];[0][s][2]concat=n=3:v=0:a=1', path('tone.wav')]);
  await writeFile(path('junk.bin'), Buffer.from('not media at all, just words'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('prepareMedia', () => {
  test('a PNG image goes as it is, with dimensions and a JPEG thumbnail of 32 px', async () => {
    const prepared = await prepareMedia('image', path('photo.png'), 'image/png', await work('png'));
    assert.equal(prepared.path, path('photo.png'));
    assert.equal(prepared.mimetype, 'image/png');
    assert.deepEqual([prepared.width, prepared.height], [300, 200]);
    const thumb = await sharp(prepared.jpegThumbnail!).metadata();
    assert.deepEqual([thumb.format, thumb.width], ['jpeg', 32]);
  });

  test('a WebP image becomes a JPEG', async () => {
    const prepared = await prepareMedia('image', path('photo.webp'), 'image/webp', await work('webp'));
    assert.equal((await fileTypeFromFile(prepared.path))?.mime, 'image/jpeg');
    assert.equal(prepared.mimetype, 'image/jpeg');
  });

  test('an animated GIF sent as an image becomes a looping H.264 MP4', async () => {
    const prepared = await prepareMedia('image', path('moving.gif'), 'image/gif', await work('gif'));
    assert.equal(prepared.gifPlayback, true);
    const info = await probe(prepared.path);
    assert.equal(info.video?.codec, 'h264');
    assert.equal(prepared.mimetype, 'video/mp4');
  });

  test('an AVI video becomes H.264/AAC MP4 with its duration, dimensions and a thumbnail', async () => {
    const prepared = await prepareMedia('video', path('clip.avi'), 'video/vnd.avi', await work('avi'));
    const info = await probe(prepared.path);
    assert.match(info.format, /mp4/);
    assert.equal(info.video?.codec, 'h264');
    assert.equal(info.audio?.codec, 'aac');
    assert.equal(prepared.seconds, 2);
    assert.deepEqual([prepared.width, prepared.height], [320, 240]);
    assert.equal((await sharp(prepared.jpegThumbnail!).metadata()).format, 'jpeg');
  });

  test('a voice note is Opus in Ogg, mono, with its duration and a waveform that shows the silence', async () => {
    const prepared = await prepareMedia('voice', path('tone.wav'), 'audio/wav', await work('voice'));
    const info = await probe(prepared.path);
    assert.equal(info.format, 'ogg');
    assert.equal(info.audio?.codec, 'opus');
    assert.equal(prepared.mimetype, 'audio/ogg; codecs=opus');
    assert.equal(prepared.seconds, 3);
    const bars = [...prepared.waveform!];
    assert.equal(bars.length, 64);
    assert.equal(Math.max(...bars), 100);
    assert.ok(Math.min(...bars.slice(25, 39)) < 5, `the middle second is silent: ${bars.join(',')}`);
  });

  test('a WAV audio file becomes AAC; an MP3-free file without audio fails for good', async () => {
    const prepared = await prepareMedia('audio', path('tone.wav'), 'audio/wav', await work('wav'));
    assert.equal((await probe(prepared.path)).audio?.codec, 'aac');
    assert.equal(prepared.mimetype, 'audio/mp4');
    await assert.rejects(prepareMedia('audio', path('junk.bin'), 'audio/mpeg', await work('junk')), MediaConversionError);
  });

  test('stickers are 512×512 WebP within their size bound, still and animated', async () => {
    const still = await prepareMedia('sticker', path('photo.png'), 'image/png', await work('sticker'));
    const stillMeta = await sharp(still.path).metadata();
    assert.deepEqual([stillMeta.format, stillMeta.width, stillMeta.height], ['webp', 512, 512]);
    assert.ok(still.size <= 100 * 1024);
    const moving = await prepareMedia('sticker', path('moving.gif'), 'image/gif', await work('sticker-anim'));
    const movingMeta = await sharp(moving.path, { animated: true }).metadata();
    assert.equal(movingMeta.format, 'webp');
    assert.ok((movingMeta.pages ?? 1) > 1);
    assert.equal(moving.isAnimated, true);
    assert.ok(moving.size <= 500 * 1024);
  });

  test('corrupt media is a MediaConversionError', async () => {
    await assert.rejects(prepareMedia('video', path('junk.bin'), 'video/mp4', await work('bad-video')), MediaConversionError);
    await assert.rejects(prepareMedia('image', path('junk.bin'), 'image/png', await work('bad-image')), MediaConversionError);
  });
});

test('canSendAs: what each stored kind can be sent as', () => {
  assert.equal(canSendAs('image', 'image', 'image/png'), true);
  assert.equal(canSendAs('image', 'document', 'application/pdf'), false);
  assert.equal(canSendAs('sticker', 'video', 'video/mp4'), false);
  assert.equal(canSendAs('voice', 'video', 'video/mp4'), true);
  assert.equal(canSendAs('document', 'video', 'video/mp4'), true);
  assert.equal(canSendAs('audio', 'image', 'image/png'), false);
});

test('waveformOf scales the loudest slice to 100', () => {
  const pcm = Buffer.alloc(6400);
  for (let i = 0; i < 3200; i++) pcm.writeInt16LE(i < 1600 ? -1000 : 4000, i * 2);
  const bars = waveformOf(pcm);
  assert.equal(bars.length, 64);
  assert.equal(bars[0], 25);
  assert.equal(bars[31], 25);
  assert.equal(bars[32], 100);
  assert.equal(bars[63], 100);
});
