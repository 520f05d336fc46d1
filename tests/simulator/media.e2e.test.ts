import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { downloadMediaMessage, type AnyMessageContent, type WAMessage, type WASocket } from '@whiskeysockets/baileys';
import { connectedCompanion } from '../../simulator/companion.ts';
import { watch, type Watch } from '../../simulator/events.ts';
import { sha256 } from '../../simulator/media-crypto.ts';
import type { MediaStats } from '../../simulator/media-store.ts';
import type { InboxMedia } from '../../simulator/phone-media.ts';
import type { Phone } from '../../simulator/phones.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';
import { trustSimulator } from './harness.ts';

// Media end to end with real Baileys: a companion uploads to the simulator's HTTPS media host and the phone it
// sends to downloads, checks and decrypts; a phone's media reaches the companion, which downloads it, including
// after a media retry for a body the server no longer serves.
const sim = new WhatsAppSimulator();
const fixture = { sim, control: '', mediaUrl: '', post: (path: string, body: object) => fetch(`${fixture.control}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) };
let alice: Phone;
let bob: Phone;
let socket: WASocket;
let events: Watch;
before(async () => {
  const { url, control, mediaUrl, caPem } = await sim.listen();
  Object.assign(fixture, { control, mediaUrl });
  trustSimulator(caPem);
  alice = sim.createPhone('6281234567401');
  bob = sim.createPhone('6281234567402');
  sim.setReceipts(bob.number, { policy: 'none', delayMs: 0 });
  ({ socket } = await connectedCompanion(url, (qr) => sim.scan(qr, alice.number)));
  events = watch(socket);
});
after(async () => {
  socket.end(undefined);
  await sim.close();
});

const stats = async (): Promise<MediaStats> => (await fetch(`${fixture.control}/media/stats`)).json() as Promise<MediaStats>;

async function receivedMedia(phone: Phone, id: string): Promise<InboxMedia> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const entry = sim.inbox(phone.number).find((m) => m.id === id);
    if (entry) {
      assert.ok(entry.media, `message ${id} arrived without media`);
      return entry.media;
    }
    assert.ok(Date.now() < deadline, `${id} never reached ${phone.number}`);
    await sleep(20);
  }
}

const hex = (bytes: Buffer) => sha256(bytes).toString('hex');

test('every kind a companion sends reaches the phone verified, byte for byte, one upload each', { timeout: 60_000 }, async () => {
  const bytes = () => randomBytes(3000 + Math.floor(Math.random() * 3000));
  const cases: { content: (data: Buffer) => AnyMessageContent; expect: Partial<InboxMedia> & { kind: InboxMedia['kind']; path: keyof MediaStats['uploads']['byPath'] } }[] = [
    { content: (image) => ({ image, caption: 'a photo', mimetype: 'image/jpeg' }), expect: { kind: 'image', caption: 'a photo', mimetype: 'image/jpeg', path: 'image' } },
    { content: (video) => ({ video, mimetype: 'video/mp4' }), expect: { kind: 'video', mimetype: 'video/mp4', path: 'video' } },
    { content: (document) => ({ document, fileName: 'report.pdf', mimetype: 'application/pdf' }), expect: { kind: 'document', fileName: 'report.pdf', path: 'document' } },
    { content: (audio) => ({ audio, mimetype: 'audio/mp4' }), expect: { kind: 'audio', mimetype: 'audio/mp4', path: 'audio' } },
    { content: (audio) => ({ audio, ptt: true, mimetype: 'audio/ogg; codecs=opus' }), expect: { kind: 'audio', ptt: true, path: 'audio' } },
    { content: (sticker) => ({ sticker }), expect: { kind: 'sticker', mimetype: 'image/webp', path: 'image' } },
  ];
  for (const { content, expect } of cases) {
    const before = await stats();
    const data = bytes();
    const sent = await socket.sendMessage(bob.jid, content(data));
    const id = sent!.key.id!;
    const media = await receivedMedia(bob, id);
    const { path, ...declared } = expect;
    assert.deepEqual({ ...media, ...declared }, media, `${expect.kind}: what the message declared`);
    assert.equal(media.verified, true, `${expect.kind}: ${media.error}`);
    assert.equal(media.sha256, hex(data));
    assert.equal(media.fileLength, data.length);
    const served = await fetch(`${fixture.control}/phones/${bob.number}/media/${id}`);
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), media.mimetype);
    assert.ok(Buffer.from(await served.arrayBuffer()).equals(data), `${expect.kind}: the bytes route gives back what was sent`);
    const after = await stats();
    assert.equal(after.uploads.total, before.uploads.total + 1, `${expect.kind}: one upload`);
    assert.equal(after.uploads.byPath[path], before.uploads.byPath[path] + 1, `${expect.kind}: uploaded to /mms/${path}`);
    assert.ok(after.uploads.bytes - before.uploads.bytes > data.length, 'the encrypted body (with padding and MAC) was stored');
  }
  assert.equal((await fetch(`${fixture.control}/phones/${bob.number}/media/no-such-message`)).status, 404);
});

test('uploads with a wrong token or an auth media_conn never issued are rejected', { timeout: 30_000 }, async () => {
  const body = randomBytes(512);
  const token = sha256(body).toString('base64url');
  const auth = sim.media.mediaConn().attrs.auth!;
  const upload = (path: string) => fetch(`${fixture.mediaUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
  const before = await stats();
  const wrongToken = await upload(`/mms/image/${sha256(randomBytes(8)).toString('base64url')}?auth=${auth}&token=${token}`);
  assert.equal(wrongToken.status, 400);
  assert.equal(typeof ((await wrongToken.json()) as { error: unknown }).error, 'string');
  const wrongAuth = await upload(`/mms/image/${token}?auth=forged&token=${token}`);
  assert.equal(wrongAuth.status, 401);
  const wrongPath = await upload(`/mms/gif/${token}?auth=${auth}&token=${token}`);
  assert.equal(wrongPath.status, 404);
  const after = await stats();
  assert.equal(after.rejected, before.rejected + 3);
  assert.equal(after.uploads.total, before.uploads.total);
  // The same body, properly addressed, goes in and comes back out.
  const accepted = await upload(`/mms/image/${token}?auth=${auth}&token=${token}`);
  const { url, direct_path } = (await accepted.json()) as { url: string; direct_path: string };
  assert.equal(url, `${fixture.mediaUrl}${direct_path}`);
  assert.ok(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(body));
  assert.equal((await fetch(`${fixture.mediaUrl}/v/t62.7118-24/unknown.enc`)).status, 404);
});

async function phoneSends(media: Record<string, unknown>): Promise<WAMessage> {
  const sent = await fixture.post(`/phones/${bob.number}/send`, { to: alice.number, media });
  assert.equal(sent.status, 201);
  const { id } = (await sent.json()) as { id: string };
  return events.waitForMessage((m) => m.key.id === id);
}

test('a phone’s image reaches the companion, which downloads exactly its bytes', { timeout: 30_000 }, async () => {
  const data = randomBytes(4321);
  const received = await phoneSends({ kind: 'image', data: data.toString('base64'), mimetype: 'image/jpeg', caption: 'from the phone' });
  assert.equal(received.message?.imageMessage?.caption, 'from the phone');
  assert.ok(received.message?.imageMessage?.url?.startsWith(fixture.mediaUrl));
  const downloaded = await downloadMediaMessage(received, 'buffer', {});
  assert.ok(downloaded.equals(data));
});

test('media the server answers 410 for downloads after updateMediaMessage', { timeout: 60_000 }, async () => {
  const data = randomBytes(2500);
  const received = await phoneSends({ kind: 'document', data: data.toString('base64'), mimetype: 'application/pdf', fileName: 'old.pdf', downloadStatus: 410 });
  const before = await stats();
  await assert.rejects(downloadMediaMessage(received, 'buffer', {}), (err: { output?: { statusCode?: number } }) => err.output?.statusCode === 410);
  assert.equal((await stats()).downloads.byStatus['410'], (before.downloads.byStatus['410'] ?? 0) + 1);
  const oldPath = received.message!.documentMessage!.directPath;
  // updateMediaMessage builds the new URL from the host media_conn named, which a socket knows once it asked.
  await socket.refreshMediaConn();
  await socket.updateMediaMessage(received);
  assert.notEqual(received.message!.documentMessage!.directPath, oldPath);
  const downloaded = await downloadMediaMessage(received, 'buffer', {});
  assert.ok(downloaded.equals(data));
});
