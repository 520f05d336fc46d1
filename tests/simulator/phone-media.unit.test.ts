import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { proto } from '@whiskeysockets/baileys';
import { sha256 } from '../../simulator/media-crypto.ts';
import { MediaStore } from '../../simulator/media-store.ts';
import { openMedia, sealMedia } from '../../simulator/phone-media.ts';

// A phone opens media only when the MAC, the declared hash and the declared length all hold.
const store = new MediaStore();
store.host = '127.0.0.1:1';

function sealed(data = randomBytes(1000)) {
  const { message } = sealMedia(store, { kind: 'document', data, mimetype: 'application/pdf', fileName: 'a.pdf', caption: 'see' });
  return { data, message, content: message.documentMessage! };
}

test('sealed media opens verified, with its bytes and what the message declared', () => {
  const { data, message } = sealed();
  const opened = openMedia(store, { documentWithCaptionMessage: { message } });
  assert.ok(opened);
  assert.ok(opened.bytes?.equals(data));
  assert.deepEqual(opened.media, { kind: 'document', mimetype: 'application/pdf', caption: 'see', fileName: 'a.pdf', fileLength: data.length, sha256: sha256(data).toString('hex'), verified: true });
});

test('a flipped byte in the stored body fails the MAC', () => {
  const { message, content } = sealed();
  const body = store.read(content.directPath!)!.body;
  body[0]! ^= 1;
  const tampered: proto.IMessage = { documentMessage: { ...content, fileEncSha256: sha256(body) } };
  const opened = openMedia(store, tampered);
  assert.equal(opened?.media.verified, false);
  assert.match(opened!.media.error!, /MAC/);
  assert.equal(openMedia(store, message)?.media.error, 'fileEncSha256 does not match the stored body');
});

test('a wrong declared hash or length is caught after decryption', () => {
  const { content } = sealed();
  const wrongHash = openMedia(store, { documentMessage: { ...content, fileSha256: sha256(Buffer.from('other')) } });
  assert.equal(wrongHash?.media.verified, false);
  assert.match(wrongHash!.media.error!, /fileSha256/);
  const wrongLength = openMedia(store, { documentMessage: { ...content, fileLength: 1 } });
  assert.match(wrongLength!.media.error!, /fileLength/);
  assert.equal(openMedia(store, { documentMessage: { ...content, directPath: '/v/none.enc' } })?.media.error, 'nothing stored at /v/none.enc');
  assert.equal(openMedia(store, { conversation: 'no media' }), undefined);
});
