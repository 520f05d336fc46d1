// Media through the platform against the raw components, on one simulator in one run (media-rig.ts):
// - uploads: BENCH_MEDIA_UPLOADS (default 20) distinct 8 MiB PDFs posted to POST /api/whatsapp/files/upload over
//   loopback HTTP, UPLOADS_IN_FLIGHT at a time (multipart parsing, staging to a scratch file while hashing, typing
//   by the bytes, the quota query, the local storage write, the row and file.uploaded), against FileStorage.put of
//   the same bytes into a fresh local storage in the same temporary directory, as many at a time. The forms are
//   encoded before the clock starts: encoding them in this process would otherwise halve the platform's figure.
//   Each upload's bytes differ: storage is content-addressed and would skip a blob it already holds.
// - sends: one ~100 KB JPEG uploaded once and sent with POST /api/whatsapp/send/image to BENCH_MEDIA_SENDS (default
//   50) simulated phones, from the first request until the last phone has downloaded, decrypted and verified it,
//   against a bare Baileys socket awaiting `sendMessage(jid, { image, caption })` for the same phones one after
//   another, as the platform's per-session queue sends them. Both upload the encrypted image once per message.
//   The platform's send spacing is at its floor (SEND_MIN_INTERVAL 1ms, SEND_JITTER 0).
// Runs in a child process (child-run.ts): Baileys keeps timers alive after its sockets end.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { createLocalStorage } from '../src/files/local-storage.ts';
import { blobKeyOf } from '../src/files/storage.ts';
import { rowsFromChild, serveRows } from './child-run.ts';
import { startMediaRig, type MediaRig } from './media-rig.ts';
import { checkWholeNumbers } from './messaging-runs.ts';
import { cpuSteal, percentile, warnOnSteal } from './stats.ts';
import type { Row } from './types.ts';

const UPLOADS = Number(process.env.BENCH_MEDIA_UPLOADS ?? 20);
const SENDS = Number(process.env.BENCH_MEDIA_SENDS ?? 50);
const UPLOAD_BYTES = 8 * 1024 * 1024;
const UPLOADS_IN_FLIGHT = 4;
const ROUNDS = 3;
const POLL_MS = 5;
const ARRIVAL_TIMEOUT_MS = 120_000;

type Side = 'platform' | 'baseline';

// `count` at most `inFlight` at a time.
async function inParallel(count: number, inFlight: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, async () => {
    while (next < count) await work(next++);
  }));
}

// Distinct well-formed-enough PDFs (typed by their header) of exactly UPLOAD_BYTES, random padding shared.
function pdfs(round: number, padding: Buffer): Buffer[] {
  return Array.from({ length: UPLOADS }, (_, i) => {
    const head = Buffer.from(`%PDF-1.4\n% media bench round ${round} upload ${i}\n`);
    const tail = Buffer.from('\n%%EOF\n');
    return Buffer.concat([head, padding.subarray(0, UPLOAD_BYTES - head.length - tail.length), tail]);
  });
}

// A multipart upload form, encoded up front so that timing an upload does not include the client's encoding.
async function uploadForm(rig: MediaRig, data: Buffer, filename: string, type: string): Promise<Blob> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(data)], { type }), filename);
  form.append('userId', rig.username);
  return new Response(form).blob();
}

async function upload(rig: MediaRig, form: Blob): Promise<string> {
  const res = await fetch(`${rig.platform.address}/api/whatsapp/files/upload`, { method: 'POST', headers: { 'x-api-token': rig.platform.token }, body: form });
  if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { data: { fileId: string } }).data.fileId;
}

// MB/s (10^6 bytes) of each side writing the same files.
async function uploadRound(rig: MediaRig, side: Side, files: Buffer[]): Promise<number> {
  let put: (i: number) => Promise<void>;
  let cleanup = async () => {};
  if (side === 'platform') {
    const forms = await Promise.all(files.map((f, i) => uploadForm(rig, f, `upload-${i}.pdf`, 'application/pdf')));
    put = async (i) => void (await upload(rig, forms[i]!));
  } else {
    const dir = await mkdtemp(join(tmpdir(), 'wa-bench-storage-'));
    cleanup = () => rm(dir, { recursive: true, force: true });
    const storage = await createLocalStorage(dir);
    const keys = files.map((f) => blobKeyOf(createHash('sha256').update(f).digest('hex')));
    put = (i) => storage.put(keys[i]!, Readable.from([files[i]!]), files[i]!.length, 'application/pdf');
  }
  try {
    const startedAt = performance.now();
    await inParallel(files.length, UPLOADS_IN_FLIGHT, put);
    return (files.length * UPLOAD_BYTES) / 1e6 / ((performance.now() - startedAt) / 1000);
  } finally {
    await cleanup();
  }
}

// When each phone received the message captioned `caption`, failing on media the phone could not verify.
async function arrivals(rig: MediaRig, phones: string[], caption: string): Promise<number[]> {
  const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
  for (;;) {
    const found = phones.map((phone) => rig.sim.inbox(phone).find((m) => m.media?.caption === caption));
    const bad = found.find((m) => m && !m.media!.verified);
    if (bad) throw new Error(`"${caption}" arrived unverified: ${bad.media!.error}`);
    if (found.every(Boolean)) return found.map((m) => m!.receivedAt);
    if (Date.now() > deadline) throw new Error(`"${caption}" reached ${found.filter(Boolean).length} of ${phones.length} phones within ${ARRIVAL_TIMEOUT_MS / 1000} s`);
    await sleep(POLL_MS);
  }
}

interface SendRound {
  perS: number;
  cpuMsPerSend: number;
}

async function sendRound(rig: MediaRig, side: Side, phones: string[], image: { fileId: string; bytes: Buffer }, caption: string): Promise<SendRound> {
  const headers = { 'x-api-token': rig.platform.token, 'content-type': 'application/json' };
  const send = async (phone: string) => {
    if (side === 'baseline') {
      await rig.socket.sendMessage(`${phone}@s.whatsapp.net`, { image: image.bytes, caption });
      return;
    }
    const body = JSON.stringify({ sessionId: rig.sessionId, phoneNumber: `+${phone}`, fileId: image.fileId, caption });
    const res = await fetch(`${rig.platform.address}/api/whatsapp/send/image`, { method: 'POST', headers, body });
    if (res.status !== 202) throw new Error(`send/image answered ${res.status}: ${await res.text()}`);
  };
  const arrived = arrivals(rig, phones, caption);
  // Should a send fail, that failure is the one reported; the poll's own timeout must not crash the process later.
  arrived.catch(() => {});
  const cpu = process.cpuUsage();
  const startedAt = Date.now();
  for (const phone of phones) await send(phone);
  const last = Math.max(...(await arrived));
  const { user, system } = process.cpuUsage(cpu);
  return { perS: (phones.length / (last - startedAt)) * 1000, cpuMsPerSend: (user + system) / 1000 / phones.length };
}

// Each side writes to phones of its own, which answer with delivered receipts only (as in bench/messaging).
function phonesFor(rig: MediaRig, block: number): string[] {
  return Array.from({ length: SENDS }, (_, i) => {
    const phone = rig.sim.createPhone(`62819${6 + block}${String(i).padStart(6, '0')}`).number;
    rig.sim.setReceipts(phone, { policy: 'delivered', delayMs: 0 });
    return phone;
  });
}

async function measure(): Promise<Row[]> {
  checkWholeNumbers({ BENCH_MEDIA_UPLOADS: UPLOADS, BENCH_MEDIA_SENDS: SENDS });
  console.error(`media: linking a platform device and a bare Baileys socket through the simulator…`);
  const rig = await startMediaRig();
  try {
    const steal = cpuSteal();
    const padding = randomBytes(UPLOAD_BYTES);
    const mbPerS: Record<Side, number[]> = { platform: [], baseline: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const files = pdfs(round, padding);
      for (const side of ['baseline', 'platform'] as const) {
        const result = await uploadRound(rig, side, files);
        console.error(`media: ${side} uploads round ${round}: ${result.toFixed(0)} MB/s`);
        mbPerS[side].push(result);
      }
    }

    // Noise does not compress: a 640×480 JPEG of it is about 100 KB.
    const bytes = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg({ quality: 70 }).toBuffer();
    const image = { bytes, fileId: await upload(rig, await uploadForm(rig, bytes, 'promo.jpg', 'image/jpeg')) };
    const phones: Record<Side, string[]> = { platform: phonesFor(rig, 0), baseline: phonesFor(rig, 1) };
    const sends: Record<Side, SendRound[]> = { platform: [], baseline: [] };
    // A first round unmeasured: Signal sessions with each phone are set up (a pre-key fetch each) and both sides'
    // code paths are warm.
    for (let round = -1; round < ROUNDS; round++) {
      for (const side of ['baseline', 'platform'] as const) {
        const result = await sendRound(rig, side, phones[side], image, `media bench ${side} r${round}`);
        if (round >= 0) sends[side].push(result);
        console.error(`media: ${side} sends round ${round}: ${result.perS.toFixed(1)} images/s, ${result.cpuMsPerSend.toFixed(1)} ms CPU each`);
        // The platform records the phones' receipts after they arrive; the next round should not pay for them.
        await sleep(1000);
      }
    }
    warnOnSteal('media', steal());

    const median = (samples: number[]) => percentile(samples, 0.5);
    const row = (name: string, metric: string, platform: number[], baseline: number[], unit: string, better: Row['better']): Row => ({
      name,
      metric,
      platform: median(platform),
      baseline: median(baseline),
      unit,
      ratio: median(platform) / median(baseline),
      better,
    });
    const uploads = `media uploads: ${UPLOADS} × 8 MiB PDF, ${UPLOADS_IN_FLIGHT} in flight (platform POST /files/upload vs FileStorage.put, local, tmp)`;
    const images = `media sends: ${(bytes.length / 1000).toFixed(0)} KB JPEG to ${SENDS} phones, one session, limits at their floor (platform POST /send/image vs bare Baileys sendMessage loop)`;
    const pick = (side: Side, get: (r: SendRound) => number) => sends[side].map(get);
    return [
      row(uploads, `MB/s (median of ${ROUNDS})`, mbPerS.platform, mbPerS.baseline, 'MB/s', 'higher'),
      row(images, `images/s, first request → last verified at a phone (median of ${ROUNDS})`, pick('platform', (r) => r.perS), pick('baseline', (r) => r.perS), 'images/s', 'higher'),
      row(images, 'CPU per image sent (whole process: sender side + simulator)', pick('platform', (r) => r.cpuMsPerSend), pick('baseline', (r) => r.cpuMsPerSend), 'ms', 'lower'),
    ];
  } finally {
    await rig.close();
  }
}

export default (): Promise<Row[]> => rowsFromChild(import.meta.filename, 'media', 10 * 60_000);

if (import.meta.main) await serveRows(measure);
