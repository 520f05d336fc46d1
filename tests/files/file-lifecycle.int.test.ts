import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { sqlOf } from '../../src/events/event-store.ts';
import { holdFiles, purgeUnusedBlobs, releaseFileHolds } from '../../src/files/file-records.ts';
import { blobKeyOf, previewKeyOf } from '../../src/files/storage.ts';
import { makeMedia, multipart } from '../helpers/media.ts';
import { bearer, createUser, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// A file a queued message still needs: deleting it answers at once, its bytes wait for the message, and the purge
// job removes them once it has ended; the same bytes uploaded again meanwhile are never lost.

let platform: TestPlatform;
let owner: { id: number; username: string; token: string };
before(async () => {
  platform = await startTestPlatform({ RATE_LIMIT_UPLOADS: '100000/1m' });
  owner = await createUser(platform, 'keeper');
});
after(() => platform.close());

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const context = () => ({ em: platform.app.orm.em.fork(), storage: platform.app.storage });
const stored = async (key: string) => (await platform.app.storage.stat(key)) !== undefined;

async function upload(data: Buffer, filename: string): Promise<{ fileId: string; previewUrl: string | null }> {
  const { body, headers } = await multipart([{ name: 'file', filename, data }]);
  const res = await platform.request({ method: 'POST', url: '/api/whatsapp/files/upload', headers: { ...headers, ...bearer(owner.token) }, payload: body });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().data;
}
const remove = (fileId: string) => platform.request({ method: 'DELETE', url: `/api/whatsapp/files/${fileId}`, headers: bearer(owner.token) });

test('a held file: deleted at once, bytes kept until the message ends, then purged with its preview and rows', async () => {
  const png = await makeMedia.png('#0f0f0f');
  const digest = sha256(png);
  const { fileId, previewUrl } = await upload(png, 'held.png');
  assert.equal((await platform.request({ method: 'GET', url: previewUrl! })).statusCode, 200);
  assert.ok(await stored(previewKeyOf(digest)), 'the preview is kept in storage');
  const em = platform.app.orm.em.fork();
  await em.transactional((tx) => holdFiles(tx, [{ messageId: 'msg_holding', fileId }]));

  assert.equal((await remove(fileId)).statusCode, 200);
  assert.equal((await platform.request({ method: 'GET', url: `/api/whatsapp/files/${fileId}`, headers: bearer(owner.token) })).statusCode, 404);
  assert.ok(await stored(blobKeyOf(digest)), 'the queued message still needs the bytes');
  assert.equal(await purgeUnusedBlobs(context(), new Date()), 0, 'nothing to purge while it is held');

  await releaseFileHolds(sqlOf(platform.app.orm.em.fork()), ['msg_holding']);
  assert.equal(await purgeUnusedBlobs(context(), new Date()), 1);
  assert.equal(await stored(blobKeyOf(digest)), false);
  assert.equal(await stored(previewKeyOf(digest)), false);
  assert.equal((await sqlOf(platform.app.orm.em.fork())('select id from files where sha256 = ?', [digest])).length, 0);
});

test('the same bytes uploaded again after a deletion: the purge keeps them, and an upload after a purge writes them again', async () => {
  const pdf = makeMedia.pdf('again');
  const digest = sha256(pdf);
  const first = await upload(pdf, 'a.pdf');
  const em = platform.app.orm.em.fork();
  await em.transactional((tx) => holdFiles(tx, [{ messageId: 'msg_again', fileId: first.fileId }]));
  await remove(first.fileId);
  const second = await upload(pdf, 'b.pdf');
  await releaseFileHolds(sqlOf(platform.app.orm.em.fork()), ['msg_again']);
  assert.equal(await purgeUnusedBlobs(context(), new Date()), 0, 'a live file names the bytes');
  assert.ok(await stored(blobKeyOf(digest)));

  await remove(second.fileId);
  assert.equal(await stored(blobKeyOf(digest)), false, 'no file left: gone at deletion');
  const third = await upload(pdf, 'c.pdf');
  const download = await platform.request({ method: 'GET', url: `/api/whatsapp/files/${third.fileId}/download`, headers: bearer(owner.token) });
  assert.equal(sha256(download.rawPayload), digest);
});

test('a message that holds a file cannot be queued once the file is deleted', async () => {
  const { fileId } = await upload(await makeMedia.png('#f0f0f0'), 'gone.png');
  await remove(fileId);
  const em = platform.app.orm.em.fork();
  await assert.rejects(
    em.transactional((tx) => holdFiles(tx, [{ messageId: 'msg_late', fileId }])),
    (err: { code?: string }) => err.code === 'FILE_NOT_FOUND',
  );
});

test('a blob no row names (an upload that crashed between its bytes and its row) is purged once it is an hour old', async () => {
  const bytes = makeMedia.pdf('orphan');
  const digest = sha256(bytes);
  await platform.app.storage.put(blobKeyOf(digest), Readable.from([bytes]), bytes.length, 'application/pdf');
  await purgeUnusedBlobs(context(), new Date());
  assert.ok(await stored(blobKeyOf(digest)), 'a fresh blob may be an upload about to record its row');
  assert.ok((await purgeUnusedBlobs(context(), new Date(Date.now() + 2 * 3_600_000))) >= 1, 'two hours later');
  assert.equal(await stored(blobKeyOf(digest)), false);
});
