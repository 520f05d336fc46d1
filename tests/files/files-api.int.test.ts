import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { sqlOf } from '../../src/events/event-store.ts';
import { blobKeyOf } from '../../src/files/storage.ts';
import { makeMedia, multipart, type FilePart } from '../helpers/media.ts';
import { bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// Seed 004's File Management through the real platform and its configured storage driver: uploads typed by their
// bytes, details with a signed preview link, ranges, deletions, and every bad input refused with nothing stored.

let platform: TestPlatform;
let alice: { id: number; username: string; token: string };
let bob: { id: number; username: string; token: string };
let jpeg: Buffer;
before(async () => {
  platform = await startTestPlatform({ RATE_LIMIT_UPLOADS: '100000/1m', FILE_QUOTA_BYTES: String(40 * 1024 * 1024) });
  alice = await createUser(platform, 'alice');
  bob = await createUser(platform, 'bob');
  jpeg = await makeMedia.jpeg();
});
after(() => platform.close());

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const file = (data: Buffer, filename: string): FilePart => ({ name: 'file', filename, data });

async function upload(owner: { token: string; username: string }, parts: (FilePart | [string, string])[]) {
  const { body, headers } = await multipart(parts);
  return platform.request({ method: 'POST', url: '/api/whatsapp/files/upload', headers: { ...headers, ...bearer(owner.token) }, payload: body });
}

const filesOf = async (userId: number) => (await sqlOf(platform.app.orm.em.fork())('select id, sha256, deleted_at from files where tenant_id = ?', [userId]));
const stored = async (digest: string) => (await platform.app.storage.stat(blobKeyOf(digest)))?.size;
const get = (url: string, headers: Record<string, string> = {}) => platform.request({ method: 'GET', url, headers });

test("seed 004's upload (file first, as curl sends it): typed by its bytes, stored once, listed, counted and served back", async () => {
  const res = await upload(alice, [file(jpeg, 'image.jpg'), ['userId', alice.username], ['description', 'Product image'], ['tags', 'product,catalog,new']]);
  assert.equal(res.statusCode, 201, res.body);
  const data = res.json().data;
  assert.match(data.fileId, /^file_/);
  assert.deepEqual(
    { filename: data.filename, size: data.size, mimetype: data.mimetype, kind: data.kind, sha256: data.sha256, description: data.description, tags: data.tags, width: data.width, url: data.url },
    { filename: 'image.jpg', size: jpeg.length, mimetype: 'image/jpeg', kind: 'image', sha256: sha256(jpeg), description: 'Product image', tags: ['product', 'catalog', 'new'], width: 640, url: `/api/whatsapp/files/${data.fileId}` },
  );
  assert.equal(await stored(sha256(jpeg)), jpeg.length);

  const details = await get(data.url, bearer(alice.token));
  assert.equal(details.json().data.fileId, data.fileId);
  const listed = await get(`/api/whatsapp/files/users/${alice.username}/image`, bearer(alice.token));
  assert.ok(listed.json().data.items.some((f: { fileId: string }) => f.fileId === data.fileId));
  assert.equal((await get(`/api/whatsapp/files/users/${alice.username}/video`, bearer(alice.token))).json().data.items.length, 0);
  const stats = (await get(`/api/whatsapp/files/users/${alice.username}/stats`, bearer(alice.token))).json().data;
  assert.ok(stats.byType.image.count >= 1 && stats.totalSize >= jpeg.length);
  assert.equal(stats.quotaBytes, 40 * 1024 * 1024);

  const download = await get(`${data.url}/download`, bearer(alice.token));
  assert.equal(download.statusCode, 200);
  assert.equal(sha256(download.rawPayload), sha256(jpeg));
  assert.equal(download.headers['content-type'], 'image/jpeg');
  assert.match(String(download.headers['content-disposition']), /^attachment; filename="image.jpg"/);
  assert.equal(download.headers.etag, `"${sha256(jpeg)}"`);
});

test('fields after the file (as Python requests sends them) and no userId: the caller\'s own file', async () => {
  const pdf = makeMedia.pdf('python');
  const res = await upload(alice, [['description', 'Invoice'], file(pdf, 'invoice.pdf')]);
  assert.equal(res.statusCode, 201, res.body);
  assert.deepEqual([res.json().data.kind, res.json().data.mimetype, res.json().data.description], ['document', 'application/pdf', 'Invoice']);
  assert.equal(res.json().data.previewUrl, null, 'documents have no preview');
});

test('ranges: first bytes, a suffix, an open end, and one no byte satisfies (416); If-None-Match answers 304', async () => {
  const { fileId } = (await upload(alice, [file(jpeg, 'r.jpg')])).json().data;
  const url = `/api/whatsapp/files/${fileId}/download`;
  const first = await get(url, { ...bearer(alice.token), range: 'bytes=0-9' });
  assert.equal(first.statusCode, 206);
  assert.equal(first.headers['content-range'], `bytes 0-9/${jpeg.length}`);
  assert.deepEqual(first.rawPayload, jpeg.subarray(0, 10));
  const suffix = await get(url, { ...bearer(alice.token), range: 'bytes=-5' });
  assert.deepEqual(suffix.rawPayload, jpeg.subarray(jpeg.length - 5));
  const open = await get(url, { ...bearer(alice.token), range: 'bytes=100-' });
  assert.deepEqual(open.rawPayload, jpeg.subarray(100));
  const beyond = await get(url, { ...bearer(alice.token), range: `bytes=${jpeg.length}-` });
  assert.equal(beyond.statusCode, 416);
  assert.equal(beyond.json().code, 'RANGE_NOT_SATISFIABLE');
  assert.equal(beyond.headers['content-range'], `bytes */${jpeg.length}`);
  const cached = await get(url, { ...bearer(alice.token), 'if-none-match': `"${sha256(jpeg)}"` });
  assert.equal(cached.statusCode, 304);
});

test('the preview: a real thumbnail through the signed link without credentials; a forged or expired link is refused', async () => {
  const { fileId, previewUrl } = (await upload(alice, [file(jpeg, 'p.jpg')])).json().data;
  assert.match(previewUrl, new RegExp(`^/api/whatsapp/files/${fileId}/preview\\?expires=\\d+&signature=`));
  const preview = await get(previewUrl);
  assert.equal(preview.statusCode, 200, preview.body);
  assert.equal(preview.headers['content-type'], 'image/jpeg');
  const meta = await sharp(preview.rawPayload).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 320, 240]);

  assert.equal((await get(`/api/whatsapp/files/${fileId}/preview`)).statusCode, 401, 'the id alone opens nothing');
  // One character of the signature changed (to a different one: a fixed replacement would sometimes be the same).
  const forged = previewUrl.replace(/signature=(.)/, (_: string, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`);
  assert.notEqual(forged, previewUrl);
  assert.equal((await get(forged)).statusCode, 401);
  assert.equal((await get(previewUrl.replace('/preview', '/download'))).statusCode, 401, 'a preview link does not download');
  const { fileId: other } = (await upload(bob, [file(await makeMedia.png(), 'b.png')])).json().data;
  assert.equal((await get(previewUrl.replace(fileId, other))).statusCode, 401, "a link names one file: not bob's");
  platform.advance(platform.config.files.signedUrlTtlMs + 1000);
  const expired = await get(previewUrl);
  assert.equal(expired.statusCode, 401);
  assert.equal(expired.json().code, 'TOKEN_EXPIRED');
});

test('a video has a preview of its first frame', async () => {
  const { previewUrl } = (await upload(alice, [file(await makeMedia.mp4(), 'clip.mp4')])).json().data;
  const preview = await get(previewUrl);
  assert.equal(preview.statusCode, 200, preview.body);
  assert.equal((await sharp(preview.rawPayload).metadata()).width, 320);
});

test('bad uploads get a clear 4xx and store nothing', async () => {
  const before = (await filesOf(alice.id)).length;
  const cases: [string, () => Promise<{ statusCode: number; json(): { code: string } }>, number, string][] = [
    ['a renamed executable', () => upload(alice, [file(makeMedia.executable(), 'photo.jpg')]), 415, 'INVALID_FILE_TYPE'],
    ['plain text named .pdf', () => upload(alice, [file(Buffer.from('just some words, not a document'), 'notes.pdf')]), 415, 'INVALID_FILE_TYPE'],
    ['an image over 16 MiB', () => upload(alice, [file(Buffer.concat([jpeg, Buffer.alloc(16 * 1024 * 1024)]), 'huge.jpg')]), 413, 'FILE_TOO_LARGE'],
    ['no file field', () => upload(alice, [['userId', alice.username]]), 400, 'VALIDATION_ERROR'],
    ['two files', () => upload(alice, [file(jpeg, 'a.jpg'), file(jpeg, 'b.jpg')]), 400, 'UPLOAD_FAILED'],
    ['an empty file', () => upload(alice, [file(Buffer.alloc(0), 'empty.jpg')]), 400, 'VALIDATION_ERROR'],
    ["another user's userId", () => upload(alice, [file(jpeg, 'x.jpg'), ['userId', bob.username]]), 404, 'USER_NOT_FOUND'],
    ['too many tags', () => upload(alice, [file(jpeg, 't.jpg'), ['tags', Array.from({ length: 30 }, (_, i) => `t${i}`).join(',')]]), 400, 'VALIDATION_ERROR'],
    ['JSON instead of a form', () => platform.request({ method: 'POST', url: '/api/whatsapp/files/upload', headers: bearer(alice.token), payload: { file: 'x' } }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ];
  for (const [name, call, status, code] of cases) {
    const res = await call();
    assert.equal(res.statusCode, status, `${name}: ${JSON.stringify(res.json())}`);
    assert.equal(res.json().code, code, name);
  }
  const truncated = await multipart([file(makeMedia.pdf('truncated'), 'cut.pdf'), ['userId', alice.username]]);
  const cut = await platform.request({
    method: 'POST',
    url: '/api/whatsapp/files/upload',
    headers: { ...truncated.headers, ...bearer(alice.token) },
    payload: truncated.body.subarray(0, truncated.body.length - 60),
  });
  assert.equal(cut.statusCode, 400, cut.body);
  assert.equal(cut.json().code, 'UPLOAD_FAILED');
  assert.equal((await filesOf(alice.id)).length, before, 'no row for any of them');
  assert.equal(await stored(sha256(makeMedia.executable())), undefined, 'no blob either');
});

test('the quota: a file that does not fit is refused (413 QUOTA_EXCEEDED)', async () => {
  const big = Buffer.concat([makeMedia.pdf('big'), Buffer.alloc(45 * 1024 * 1024)]);
  const res = await upload(bob, [file(big, 'big.pdf')]);
  assert.equal(res.statusCode, 413);
  assert.equal(res.json().code, 'QUOTA_EXCEEDED');
  assert.equal(await stored(sha256(big)), undefined);
});

test("another user's file is not found, whatever the route", async () => {
  const { fileId } = (await upload(alice, [file(await makeMedia.png('#123456'), 'mine.png')])).json().data;
  for (const url of [`/api/whatsapp/files/${fileId}`, `/api/whatsapp/files/${fileId}/download`, `/api/whatsapp/files/${fileId}/preview`]) {
    const res = await get(url, bearer(bob.token));
    assert.equal(res.statusCode, 404, url);
    assert.equal(res.json().code, 'FILE_NOT_FOUND');
  }
  assert.equal((await get(`/api/whatsapp/files/users/${alice.username}/stats`, bearer(bob.token))).statusCode, 404);
  assert.equal((await platform.request({ method: 'DELETE', url: `/api/whatsapp/files/${fileId}`, headers: bearer(bob.token) })).statusCode, 404);
  assert.equal((await get(`/api/whatsapp/files/${fileId}`, bearer(alice.token))).statusCode, 200, 'still there');
});

test('the same bytes twice are two files over one blob; the blob goes with the last of them', async () => {
  const png = await makeMedia.png('#654321');
  const one = (await upload(alice, [file(png, 'one.png')])).json().data.fileId;
  const two = (await upload(alice, [file(png, 'two.png')])).json().data.fileId;
  assert.notEqual(one, two);
  const del = await platform.request({ method: 'DELETE', url: `/api/whatsapp/files/${one}`, headers: bearer(alice.token) });
  assert.deepEqual(del.json().data, { deleted: [one] });
  assert.equal((await get(`/api/whatsapp/files/${one}`, bearer(alice.token))).statusCode, 404);
  assert.equal(await stored(sha256(png)), png.length, 'the other file still needs the bytes');
  const download = await get(`/api/whatsapp/files/${two}/download`, bearer(alice.token));
  assert.equal(sha256(download.rawPayload), sha256(png));
  await platform.request({ method: 'DELETE', url: `/api/whatsapp/files/${two}`, headers: bearer(alice.token) });
  assert.equal(await stored(sha256(png)), undefined);
});

test('bulk delete is all or none: one unknown id deletes nothing', async () => {
  const ids = [];
  for (const color of ['#111111', '#222222']) ids.push((await upload(alice, [file(await makeMedia.png(color), `${color}.png`)])).json().data.fileId);
  const refused = await platform.request({ method: 'DELETE', url: '/api/whatsapp/files/bulk', headers: bearer(alice.token), payload: { fileIds: [...ids, 'file_nope'] } });
  assert.equal(refused.statusCode, 404);
  assert.equal(refused.json().code, 'FILE_NOT_FOUND');
  for (const id of ids) assert.equal((await get(`/api/whatsapp/files/${id}`, bearer(alice.token))).statusCode, 200);
  const done = await platform.request({ method: 'DELETE', url: '/api/whatsapp/files/bulk', headers: bearer(alice.token), payload: { fileIds: ids } });
  assert.deepEqual(done.json().data.deleted, ids);
  assert.equal((await platform.request({ method: 'DELETE', url: '/api/whatsapp/files/bulk', headers: bearer(alice.token), payload: { fileIds: [] } })).statusCode, 400);
});

test('the file events: file.uploaded and file.deleted on the file stream', async () => {
  const { fileId } = (await upload(alice, [file(await makeMedia.png('#abcdef'), 'ev.png')])).json().data;
  await platform.request({ method: 'DELETE', url: `/api/whatsapp/files/${fileId}`, headers: bearer(alice.token) });
  const rows = await sqlOf(platform.app.orm.em.fork())('select type from events where stream_id = ? order by global_position', [`file-${fileId}`]);
  assert.deepEqual(rows.map((r) => r.type), ['file.uploaded', 'file.deleted']);
});
