import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { pipeline, Readable, Transform } from 'node:stream';
import type { StorageSettings } from '../config.ts';
import { StorageNotFoundError, type FileStorage } from './storage.ts';

export type S3StorageSettings = Extract<StorageSettings, { driver: 's3' }>;

// Objects in an S3-compatible bucket. S3 makes an object visible only once its upload completes (a multipart
// upload that is aborted or never completed is no object), so a failed or short write leaves nothing under a key.
export async function createS3Storage(settings: S3StorageSettings): Promise<FileStorage> {
  const client = new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    credentials: settings.credentials,
    // The SDK's default sends every upload as aws-chunked with a trailing CRC32, which S3-compatible servers
    // (s3rver, older MinIO, Cloudflare R2) reject; checksums only where an operation requires them works everywhere.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const { bucket } = settings;
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    client.destroy();
    throw new Error(`S3 bucket ${bucket} at ${describeEndpoint(settings)} is not reachable: ${reasonOf(err)}`, { cause: err });
  }

  const objectKey = (key: string) => {
    // Keys are flat strings to S3, but some servers normalise `.`/`..` segments in the path, which would let a key
    // escape its prefix (another deployment's objects).
    if (!key || key.includes('\0') || key.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
      throw new Error(`invalid storage key ${JSON.stringify(key)}`);
    }
    return settings.prefix ? `${settings.prefix}/${key}` : key;
  };
  const statOf = async (key: string) => {
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  return {
    kind: 's3',
    async put(key, body, size, contentType) {
      const Key = objectKey(key);
      if (await statOf(key)) {
        body.resume();
        return;
      }
      let written = 0;
      let bodyError: Error | undefined;
      const count = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          written += chunk.length;
          callback(written > size ? (bodyError = new Error(`body longer than the announced ${size} bytes`)) : null, chunk);
        },
        // Failing here, before the stream ends, keeps the upload from sending its last part or completing.
        flush(callback) {
          callback(written === size ? null : (bodyError = new Error(`body of ${written} bytes, ${size} announced`)));
        },
      });
      // An error on `body` reaches the upload through `count`; the upload stopping early destroys `body`.
      const counted = pipeline(body, count, (err) => {
        if (err && !bodyError && body.errored) bodyError = err;
      });
      // Reads the body a part (5 MiB) at a time with a few parts in flight; a stream that fails makes the upload
      // abort its multipart upload before `done` rejects.
      const upload = new Upload({ client, params: { Bucket: bucket, Key, Body: counted, ContentType: contentType } });
      try {
        await upload.done();
      } catch (err) {
        // When the abort itself fails (s3rver has no AbortMultipartUpload) the SDK throws that instead; the caller
        // needs the body's fault, and the parts left behind are no object.
        throw bodyError ?? err;
      } finally {
        counted.destroy();
      }
    },
    async get(key, range) {
      try {
        const object = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: objectKey(key), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
        );
        if (!(object.Body instanceof Readable)) throw new Error(`S3 returned no readable body for ${key}`);
        return range ? rangeOf(object.Body, object, range) : object.Body;
      } catch (err) {
        if (isNotFound(err)) throw new StorageNotFoundError(key);
        throw err;
      }
    },
    stat: statOf,
    async delete(key) {
      // S3 answers a delete of a missing key with success.
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
    },
    async *list(prefix) {
      const strip = settings.prefix ? settings.prefix.length + 1 : 0;
      let ContinuationToken: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: objectKey(prefix.replace(/\/+$/, '')) + '/', ContinuationToken }));
        for (const object of page.Contents ?? []) {
          if (object.Key) yield { key: object.Key.slice(strip), modifiedAt: object.LastModified ?? new Date(0) };
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    },
    async close() {
      client.destroy();
    },
  };
}

// HTTP lets a server answer a range with more than was asked (the whole object, or s3rver's reading of
// `bytes=0-0` as "from 0 to the end"), so the asked bytes are cut out of whatever came.
function rangeOf(
  body: Readable,
  response: { ContentRange?: string; ContentLength?: number },
  range: { start: number; end: number },
): Readable {
  const sent = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.ContentRange ?? '');
  const first = sent ? Number(sent[1]) : 0;
  const last = sent ? Number(sent[2]) : (response.ContentLength ?? 0) - 1;
  const total = sent ? Number(sent[3]) : (response.ContentLength ?? 0);
  const wanted = Math.min(range.end, total - 1) - range.start + 1;
  if (first === range.start && last - first + 1 === wanted) return body;
  if (first > range.start) {
    body.destroy();
    throw new Error(`S3 answered bytes ${range.start}-${range.end} with ${response.ContentRange}`);
  }
  let skip = range.start - first;
  let left = wanted;
  const window = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const rest = chunk.subarray(Math.min(skip, chunk.length));
      skip -= chunk.length - rest.length;
      if (left > 0 && rest.length) {
        const kept = rest.subarray(0, left);
        left -= kept.length;
        this.push(kept);
        if (left === 0) this.push(null);
      }
      callback();
    },
  });
  body.on('error', (err) => {
    if (!window.readableEnded) window.destroy(err);
  });
  // Once the asked bytes are out (or the reader gave up), the rest of the response is not downloaded.
  window.once('end', () => body.destroy());
  window.once('close', () => body.destroy());
  return body.pipe(window);
}

// Where the bucket is, for logs and errors: the endpoint without any user info in it, or AWS and the region.
export function describeEndpoint(settings: S3StorageSettings): string {
  if (!settings.endpoint) return `AWS S3 (${settings.region})`;
  const url = new URL(settings.endpoint);
  url.username = '';
  url.password = '';
  return url.toString().replace(/\/$/, '');
}

function isNotFound(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status === 404 || (err instanceof Error && (err.name === 'NoSuchKey' || err.name === 'NotFound'));
}

function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  // A HEAD has no body, so the SDK names a 403 or 404 only by its status.
  if (status === 404) return 'no such bucket (404)';
  if (status === 403) return 'access denied (403): check the credentials and the bucket policy';
  return err.message ? `${err.name}: ${err.message}` : err.name;
}
