import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { finished } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { createLocalStorage } from '../../src/files/local-storage.ts';
import { createS3Storage } from '../../src/files/s3-storage.ts';
import { blobKeyOf, StorageNotFoundError, type FileStorage } from '../../src/files/storage.ts';
import { startS3Server } from '../helpers/s3-server.ts';

// What every storage driver promises (src/files/storage.ts), checked against each: the local directory and an
// S3-protocol server (s3rver).

const MiB = 1024 * 1024;

interface Store {
  storage: FileStorage;
  // Another store on the same backing (bucket or directory) under `prefix`; s3 only.
  withPrefix?(prefix: string): Promise<FileStorage>;
  // The local directory, to look for anything written outside it.
  dir?: string;
  stop(): Promise<void>;
}

const drivers: { name: FileStorage['kind']; start(): Promise<Store> }[] = [
  {
    name: 'local',
    async start() {
      const parent = await mkdtemp(join(tmpdir(), 'wa-storage-contract-'));
      const dir = join(parent, 'files');
      const storage = await createLocalStorage(dir);
      return { storage, dir, stop: () => rm(parent, { recursive: true, force: true }) };
    },
  },
  {
    name: 's3',
    async start() {
      const server = await startS3Server();
      const open = (prefix: string) =>
        createS3Storage({
          driver: 's3',
          bucket: server.bucket,
          endpoint: server.endpoint,
          region: 'us-east-1',
          credentials: server.credentials,
          forcePathStyle: true,
          prefix,
        });
      const opened: FileStorage[] = [];
      const withPrefix = async (prefix: string) => {
        const storage = await open(prefix);
        opened.push(storage);
        return storage;
      };
      const storage = await withPrefix('contract');
      return {
        storage,
        withPrefix,
        async stop() {
          for (const each of opened) await each.close();
          await server.close();
        },
      };
    },
  },
];

// A body streamed in 64 KiB chunks, as an upload arrives.
function streamOf(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 64 * 1024) chunks.push(bytes.subarray(at, at + 64 * 1024));
  return Readable.from(chunks);
}

function keyOf(bytes: Buffer): string {
  return blobKeyOf(createHash('sha256').update(bytes).digest('hex'));
}

async function stored(storage: FileStorage, bytes: Buffer): Promise<string> {
  const key = keyOf(bytes);
  await storage.put(key, streamOf(bytes), bytes.length, 'application/octet-stream');
  return key;
}

for (const driver of drivers) {
  describe(`${driver.name} storage`, () => {
    let store: Store;
    let storage: FileStorage;
    before(async () => {
      store = await driver.start();
      storage = store.storage;
    });
    after(() => store.stop());

    test('returns the bytes it was given, small and over a multipart upload part (5 MiB)', async () => {
      for (const size of [0, 1, 1000, 7 * MiB + 3]) {
        const bytes = randomBytes(size);
        const key = await stored(storage, bytes);
        assert.ok((await buffer(await storage.get(key))).equals(bytes), `${size} bytes back as they went in`);
        assert.deepEqual(await storage.stat(key), { size });
      }
    });

    test('reads inclusive ranges: the first byte, the middle, the last byte', async () => {
      const bytes = randomBytes(6 * MiB + 11);
      const key = await stored(storage, bytes);
      const last = bytes.length - 1;
      for (const [start, end] of [[0, 0], [3 * MiB - 7, 3 * MiB + 4096], [last, last], [0, last]] as const) {
        const got = await buffer(await storage.get(key, { start, end }));
        assert.ok(got.equals(bytes.subarray(start, end + 1)), `bytes ${start}-${end}`);
      }
    });

    test('a missing key: stat is undefined, get rejects with StorageNotFoundError', async () => {
      const key = keyOf(randomBytes(16));
      assert.equal(await storage.stat(key), undefined);
      await assert.rejects(storage.get(key), StorageNotFoundError);
      await assert.rejects(storage.get(key, { start: 0, end: 0 }), StorageNotFoundError);
    });

    test('a body shorter or longer than announced fails and leaves nothing under the key', async () => {
      for (const size of [1000, 11 * MiB]) {
        const bytes = randomBytes(size);
        const key = keyOf(bytes);
        await assert.rejects(storage.put(key, streamOf(bytes), size + 1, 'application/octet-stream'), /announced/);
        await assert.rejects(storage.put(key, streamOf(bytes), size - 1, 'application/octet-stream'), /announced/);
        assert.equal(await storage.stat(key), undefined, `nothing after a ${size}-byte mismatch`);
        await assert.rejects(storage.get(key), StorageNotFoundError);
        // The key is still free for the right body.
        await storage.put(key, streamOf(bytes), size, 'application/octet-stream');
        assert.deepEqual(await storage.stat(key), { size });
      }
    });

    test('a body that fails mid-stream leaves nothing under the key', async () => {
      const bytes = randomBytes(8 * MiB);
      const key = keyOf(bytes);
      const failing = Readable.from(
        (async function* () {
          yield bytes.subarray(0, 6 * MiB);
          throw new Error('client went away');
        })(),
      );
      await assert.rejects(storage.put(key, failing, bytes.length, 'application/octet-stream'), /client went away/);
      assert.equal(await storage.stat(key), undefined);
    });

    test('writing an existing key is a no-op that still consumes the body', async () => {
      const first = randomBytes(4096);
      const key = await stored(storage, first);
      const other = streamOf(randomBytes(2048));
      await storage.put(key, other, 2048, 'application/octet-stream');
      assert.ok((await buffer(await storage.get(key))).equals(first), 'the first bytes stay');
      await finished(other);
    });

    test('concurrent puts of the same key all succeed with one whole object', async () => {
      const bytes = randomBytes(6 * MiB + 5);
      const key = keyOf(bytes);
      await Promise.all(Array.from({ length: 4 }, () => storage.put(key, streamOf(bytes), bytes.length, 'application/octet-stream')));
      assert.deepEqual(await storage.stat(key), { size: bytes.length });
      assert.ok((await buffer(await storage.get(key))).equals(bytes));
    });

    test('delete removes the object and deleting a missing key is not an error', async () => {
      const key = await stored(storage, randomBytes(100));
      await storage.delete(key);
      assert.equal(await storage.stat(key), undefined);
      await assert.rejects(storage.get(key), StorageNotFoundError);
      await storage.delete(key);
      await storage.delete(keyOf(randomBytes(8)));
    });

    test('keys that climb out of the store are refused', async () => {
      for (const key of ['../outside', 'blobs/../../outside', '/outside', 'blobs/\0/x']) {
        await assert.rejects(storage.put(key, streamOf(Buffer.from('x')), 1, 'text/plain'), /invalid storage key/, key);
        await assert.rejects(storage.get(key), /invalid storage key/, key);
        await assert.rejects(storage.stat(key), /invalid storage key/, key);
        await assert.rejects(storage.delete(key), /invalid storage key/, key);
      }
      if (store.dir) await assert.rejects(access(join(store.dir, '..', 'outside')), { code: 'ENOENT' });
    });

    test('lists the keys under a prefix (only those), with when each was written', async () => {
      const before = new Date(Date.now() - 1000);
      const written = [randomBytes(10), randomBytes(20), randomBytes(30)].map((bytes) => ({ bytes, key: keyOf(bytes) }));
      for (const { bytes, key } of written) await storage.put(key, streamOf(bytes), bytes.length, 'application/octet-stream');
      await storage.put('previews/elsewhere.jpg', streamOf(Buffer.from('jpeg')), 4, 'image/jpeg');
      const listed = [];
      for await (const entry of storage.list('blobs/')) listed.push(entry);
      for (const { key } of written) {
        const entry = listed.find((e) => e.key === key);
        assert.ok(entry, `${key} listed`);
        assert.ok(entry.modifiedAt >= before, 'with its write time');
      }
      assert.ok(listed.every((e) => e.key.startsWith('blobs/')), 'nothing outside the prefix');
      const none = [];
      for await (const entry of storage.list('nothing-here/')) none.push(entry);
      assert.deepEqual(none, []);
    });

    if (driver.name === 's3') {
      test('a prefix keeps one deployment’s objects from another’s in the same bucket', async () => {
        const bytes = randomBytes(300);
        const key = keyOf(bytes);
        const one = await store.withPrefix!('deployment-one');
        const two = await store.withPrefix!('deployment-two');
        const bucketRoot = await store.withPrefix!('');
        await one.put(key, streamOf(bytes), bytes.length, 'application/octet-stream');
        assert.equal(await two.stat(key), undefined);
        await assert.rejects(two.get(key), StorageNotFoundError);
        await two.delete(key);
        assert.deepEqual(await one.stat(key), { size: bytes.length });
        assert.deepEqual(await bucketRoot.stat(`deployment-one/${key}`), { size: bytes.length }, 'stored under prefix/');
        assert.equal(await bucketRoot.stat(key), undefined);
      });
    }
  });
}

test('opening an unreachable bucket names the bucket and the endpoint', async () => {
  const server = await startS3Server();
  const settings = {
    driver: 's3' as const,
    bucket: 'no-such-bucket',
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: server.credentials,
    forcePathStyle: true,
    prefix: '',
  };
  try {
    await assert.rejects(createS3Storage(settings), (err: Error) => {
      assert.match(err.message, /S3 bucket no-such-bucket at http:\/\/127\.0\.0\.1:\d+ is not reachable: no such bucket \(404\)/);
      assert.doesNotMatch(err.message, /S3RVER/);
      return true;
    });
  } finally {
    await server.close();
  }
});
