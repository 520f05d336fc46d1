import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import sharp from 'sharp';
import type { WhatsAppSimulator } from '../../simulator/server.ts';
import { sqlOf } from '../../src/events/event-store.ts';
import { bearer, createUser, type TestPlatform } from '../helpers/platform.ts';
import { makeMedia, multipart } from '../helpers/media.ts';
import { startReceiver } from '../helpers/receivers.ts';
import { until } from '../helpers/wait.ts';
import { useLinkedPlatform, type LinkedDevice } from '../helpers/whatsapp.ts';

// Media through the whole platform and real Baileys: uploads become files, a send converts what WhatsApp needs,
// uploads it once to the simulator's media server, and the simulated phone decrypts it and checks MAC, digest and
// length; media a phone sends is downloaded, verified and stored, and its signed link in the webhook gives the
// same bytes back.
let sim: WhatsAppSimulator;
let platform: TestPlatform;
let base: string;
let user: { id: number; username: string; token: string };
let device: LinkedDevice;
useLinkedPlatform({ SEND_MIN_INTERVAL: '20ms', ALLOW_PRIVATE_WEBHOOKS: 'true', RATE_LIMIT_UPLOADS: '100000/1m' }, { username: 'media-sender', alias: 'studio', number: '6281400000001' }, (linked) =>
  ({ sim, platform, base, user, device } = linked));

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
let nextContact = 100;
const contact = () => sim.createPhone(`62814000${String(nextContact++).padStart(5, '0')}`);

async function upload(data: Buffer, filename: string, owner = user): Promise<string> {
  const { body, headers } = await multipart([{ name: 'file', filename, data }, ['userId', owner.username]]);
  const res = await platform.request({ method: 'POST', url: '/api/whatsapp/files/upload', headers: { ...headers, ...bearer(owner.token) }, payload: body });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().data.fileId;
}

const post = (url: string, payload: object) => platform.request({ method: 'POST', url, headers: bearer(user.token), payload });
const statusOf = async (messageId: string) => (await platform.request({ method: 'GET', url: `/api/whatsapp/messages/${messageId}/status`, headers: bearer(user.token) })).json().data;
const sentStatus = (messageId: string) =>
  until(async () => {
    const s = await statusOf(messageId);
    if (s.status === 'failed') throw new Error(`${messageId} failed: ${JSON.stringify(s)}`);
    return s.status !== 'queued' ? s : undefined;
  }, `${messageId} sent`, 60_000);
const arrived = (number: string, count = 1) => until(() => (sim.inbox(number).filter((m) => m.media).length >= count ? sim.inbox(number).filter((m) => m.media) : undefined), `media at ${number}`, 60_000);
const uploads = () => sim.media.stats().uploads.total;

test('each kind reaches the phone, which decrypts it and finds it intact: as uploaded, or converted to what WhatsApp plays', { timeout: 240_000 }, async () => {
  const jpeg = await makeMedia.jpeg('#2255aa');
  const mp4 = await makeMedia.mp4();
  const pdf = makeMedia.pdf('invoice');
  const mp3 = await makeMedia.mp3();
  const wav = await makeMedia.wav();
  const png = await makeMedia.png('#aa5522');
  const cases = [
    { route: 'image', data: jpeg, name: 'photo.jpg', body: { caption: 'Check out our new product!' }, same: true, expect: { kind: 'image', caption: 'Check out our new product!' } },
    { route: 'video', data: mp4, name: 'clip.mp4', body: { caption: 'Tutorial video' }, same: true, expect: { kind: 'video', caption: 'Tutorial video' } },
    { route: 'document', data: pdf, name: 'upload.pdf', body: { filename: 'invoice.pdf', caption: 'Your invoice' }, same: true, expect: { kind: 'document', fileName: 'invoice.pdf' } },
    { route: 'audio', data: mp3, name: 'tone.mp3', body: {}, same: true, expect: { kind: 'audio' } },
    { route: 'audio', data: wav, name: 'voice.wav', body: { ptt: true }, same: false, expect: { kind: 'audio', ptt: true } },
    { route: 'sticker', data: png, name: 'sticker.png', body: {}, same: false, expect: { kind: 'sticker' } },
  ];
  for (const c of cases) {
    const phone = contact();
    const before = uploads();
    const fileId = await upload(c.data, c.name);
    const res = await post(`/api/whatsapp/send/${c.route}`, { sessionId: device.sessionId, phoneNumber: `+${phone.number}`, fileId, ...c.body });
    assert.equal(res.statusCode, 202, `${c.route}: ${res.body}`);
    const { messageId } = res.json().data;
    await sentStatus(messageId);
    const [entry] = await arrived(phone.number);
    const media = entry!.media!;
    assert.equal(media.verified, true, `${c.name}: ${media.error}`);
    for (const [key, value] of Object.entries(c.expect)) assert.equal(media[key as keyof typeof media], value, `${c.name}: ${key}`);
    const bytes = sim.mediaOf(phone.number, entry!.id)!.bytes;
    assert.equal(sha256(bytes), media.sha256);
    if (c.same) assert.equal(media.sha256, sha256(c.data), `${c.name} arrives byte for byte as uploaded`);
    assert.equal(uploads() - before, 1, `${c.name}: one upload`);
    if (c.route === 'audio' && c.body.ptt) {
      assert.equal(bytes.subarray(0, 4).toString(), 'OggS');
      assert.match(media.mimetype, /^audio\/ogg/);
    }
    if (c.route === 'sticker') {
      const meta = await sharp(bytes).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 512, 512]);
    }
    const history = (await platform.request({ method: 'GET', url: `/api/whatsapp/messages/${messageId}/status`, headers: bearer(user.token) })).json().data;
    assert.equal(history.fileId, fileId, 'the status names the file');
  }
});

test("seed 004's mixed send: three files arrive in order, each its own message", { timeout: 120_000 }, async () => {
  const phone = contact();
  const img1 = await upload(await makeMedia.jpeg('#111199'), 'p1.jpg');
  const img2 = await upload(await makeMedia.jpeg('#991111'), 'p2.jpg');
  const doc = await upload(makeMedia.pdf('catalog'), 'catalog.pdf');
  const res = await post('/api/whatsapp/send/mixed', {
    sessionId: device.sessionId,
    phoneNumber: `+${phone.number}`,
    files: [
      { fileId: img1, type: 'image', caption: 'Product 1' },
      { fileId: img2, type: 'image', caption: 'Product 2' },
      { fileId: doc, type: 'document', caption: 'Catalog PDF' },
    ],
  });
  assert.equal(res.statusCode, 202, res.body);
  assert.equal(res.json().data.messages.length, 3);
  const entries = await arrived(phone.number, 3);
  assert.deepEqual(entries.map((e) => [e.media!.kind, e.media!.caption, e.media!.verified]), [
    ['image', 'Product 1', true],
    ['image', 'Product 2', true],
    ['document', 'Catalog PDF', true],
  ]);
});

test('bulk with fileId: 100 recipients, one upload per message, every copy intact', { timeout: 240_000 }, async () => {
  const jpeg = await makeMedia.jpeg('#22aa55');
  const fileId = await upload(jpeg, 'promo.jpg');
  const phones = Array.from({ length: 100 }, () => contact());
  const before = uploads();
  const res = await post('/api/whatsapp/send/bulk', {
    sessionId: device.sessionId,
    recipients: phones.map((p, i) => ({ phoneNumber: `+${p.number}`, fileId, caption: `Hello {name}!`, variables: { name: `customer ${i}` } })),
  });
  assert.equal(res.statusCode, 202, res.body);
  assert.equal(res.json().data.accepted, 100);
  for (const [i, p] of phones.entries()) {
    const [entry] = await arrived(p.number);
    assert.equal(entry!.media!.verified, true);
    assert.equal(entry!.media!.sha256, sha256(jpeg));
    assert.equal(entry!.media!.caption, `Hello customer ${i}!`);
  }
  assert.equal(uploads() - before, 100, 'one upload per message');
});

test('bad sends are refused before anything is queued', async () => {
  const phone = contact();
  const other = await createUser(platform, 'someone-else');
  const theirs = await upload(await makeMedia.jpeg('#999999'), 'theirs.jpg', other);
  const pdf = await upload(makeMedia.pdf('not an image'), 'doc.pdf');
  const cases: [object, number, string][] = [
    [{ caption: 'no file' }, 400, 'VALIDATION_ERROR'],
    [{ fileId: 'file_doesnotexist' }, 404, 'FILE_NOT_FOUND'],
    [{ fileId: theirs }, 404, 'FILE_NOT_FOUND'],
    [{ fileId: pdf }, 415, 'INVALID_FILE_TYPE'],
    [{ url: 'http://169.254.169.254/latest/meta-data' }, 400, 'INVALID_MEDIA_URL'],
  ];
  for (const [body, status, code] of cases) {
    const res = await post('/api/whatsapp/send/image', { sessionId: device.sessionId, phoneNumber: `+${phone.number}`, ...body });
    assert.equal(res.statusCode, status, `${JSON.stringify(body)}: ${res.body}`);
    assert.equal(res.json().code, code);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(sim.inbox(phone.number).length, 0);
});

test("a phone's media: downloaded, verified, stored as the owner's file; the webhook's signed link gives the same bytes", { timeout: 120_000 }, async () => {
  const receiver = await startReceiver();
  const inlined = await startReceiver();
  try {
    const hook = await platform.request({ method: 'POST', url: '/api/whatsapp/webhooks', headers: bearer(user.token), payload: { url: receiver.url, events: ['message'] } });
    assert.equal(hook.statusCode, 201, hook.body);
    const inlining = await platform.request({ method: 'POST', url: '/api/whatsapp/webhooks', headers: bearer(user.token), payload: { url: inlined.url, events: ['message'], inlineMedia: true } });
    assert.equal(inlining.json().data.inlineMedia, true);
    const phone = contact();
    const jpeg = await makeMedia.jpeg('#ff8800', 400, 300);
    sim.sendMediaFromPhone(phone.number, device.number, { kind: 'image', data: jpeg, mimetype: 'image/jpeg', caption: 'Is this in stock?' });
    const payload = await until(
      () => receiver.requests.map((r) => JSON.parse(r.body)).find((p) => p.data?.media?.caption === 'Is this in stock?'),
      'the webhook with media',
    ).catch((err) => {
      throw new Error(`${err.message}; the receiver got ${receiver.requests.map((r) => r.body.slice(0, 400)).join('\n')}`);
    });
    const { media } = payload.data;
    assert.deepEqual([media.kind, media.mimetype, media.size, media.caption], ['image', 'image/jpeg', jpeg.length, 'Is this in stock?']);
    const download = await fetch(`${base}${media.downloadUrl}`);
    assert.equal(download.status, 200);
    assert.equal(sha256(Buffer.from(await download.arrayBuffer())), sha256(jpeg), 'the exact bytes the phone sent');
    const details = await platform.request({ method: 'GET', url: `/api/whatsapp/files/${media.fileId}`, headers: bearer(user.token) });
    assert.equal(details.json().data.source, 'received');
    assert.equal(payload.data.media.data, undefined, 'no bytes unless an endpoint asks for them');
    const withBytes = await until(() => inlined.requests.map((r) => JSON.parse(r.body)).find((p) => p.data?.media?.caption === 'Is this in stock?'), 'the inlined webhook');
    assert.equal(sha256(Buffer.from(withBytes.data.media.data, 'base64')), sha256(jpeg), 'the bytes inline, for the endpoint that asked');
  } finally {
    await receiver.close();
    await inlined.close();
  }
});

test('media WhatsApp no longer has (410): the session asks the phone to upload it again, and the download succeeds', { timeout: 120_000 }, async () => {
  const phone = contact();
  const png = await makeMedia.png('#00aa99');
  const waId = sim.sendMediaFromPhone(phone.number, device.number, { kind: 'image', data: png, mimetype: 'image/png', downloadStatus: 410 });
  const fileId = await until(async () => {
    const res = await platform.request({ method: 'GET', url: `/api/whatsapp/users/${user.username}/message-logs?status=received`, headers: bearer(user.token) });
    return res.json().data.items.find((m: { waMessageId: string; fileId?: string }) => m.waMessageId === waId)?.fileId;
  }, 'the received message');
  const download = await platform.request({ method: 'GET', url: `/api/whatsapp/files/${fileId}/download`, headers: bearer(user.token) });
  assert.equal(download.statusCode, 200, download.body);
  assert.equal(sha256(download.rawPayload), sha256(png));
  assert.ok((sim.media.stats().downloads.byStatus['410'] ?? 0) >= 1, 'the first download did meet the 410');
});

test("media gone for good (the phone no longer has it either): message.media-failed with the reason, and the message still shows", { timeout: 120_000 }, async () => {
  const phone = contact();
  const waId = sim.sendMediaFromPhone(phone.number, device.number, { kind: 'document', data: makeMedia.pdf('lost'), mimetype: 'application/pdf', fileName: 'lost.pdf', downloadStatus: 404 });
  // The phone deleted it: a media retry request finds nothing to upload again.
  sim.router.phones.handset(sim.phones.get(phone.number)!).sentMedia.delete(waId);
  const message = await until(async () => {
    const res = await platform.request({ method: 'GET', url: `/api/whatsapp/users/${user.username}/message-logs?status=received`, headers: bearer(user.token) });
    return res.json().data.items.find((m: { waMessageId: string }) => m.waMessageId === waId);
  }, 'the received message');
  assert.equal(message.type, 'document');
  const failed = await until(async () => {
    const rows = await sqlOf(platform.app.orm.em.fork())(`select data from events where stream_id = ? and type = 'message.media-failed'`, [`message-${message.messageId}`]);
    return rows[0]?.data as { code: string; reason: string; fileId: string } | undefined;
  }, 'message.media-failed', 60_000);
  assert.equal(failed.code, 'MEDIA_GONE');
  assert.equal(failed.fileId, message.fileId);
  const download = await platform.request({ method: 'GET', url: `/api/whatsapp/files/${message.fileId}/download`, headers: bearer(user.token) });
  assert.equal(download.statusCode, 404, 'no file, and no wait for one that will not come');
});
