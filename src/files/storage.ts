import type { Readable } from 'node:stream';

// Where file bytes live: a local directory (the default, a volume shared by the API and worker containers) or an
// S3-compatible bucket. Metadata lives in PostgreSQL (`files`); storage only maps keys to bytes. Keys are
// content addresses (`blobKeyOf`), so a key is written once and never changes: writing one that exists is a
// no-op, and readers never see half a blob (each driver makes the bytes visible only once complete).
export interface FileStorage {
  readonly kind: 'local' | 's3';
  // Streams `body` under `key`; `size` is the number of bytes it holds (checked: a short or long body fails and
  // leaves nothing under the key).
  put(key: string, body: Readable, size: number, contentType: string): Promise<void>;
  // The bytes under `key`, or the inclusive range [start, end] of them; a missing key rejects with
  // StorageNotFoundError.
  get(key: string, range?: { start: number; end: number }): Promise<Readable>;
  stat(key: string): Promise<{ size: number } | undefined>;
  // Removing a missing key is not an error.
  delete(key: string): Promise<void>;
  // Every key under `prefix` (`blobs/`), with when it was written: for the purge of blobs no row names.
  list(prefix: string): AsyncIterable<{ key: string; modifiedAt: Date }>;
  close(): Promise<void>;
}

export class StorageNotFoundError extends Error {
  constructor(key: string) {
    super(`no stored object ${key}`);
    this.name = 'StorageNotFoundError';
  }
}

// The key of the bytes whose SHA-256 (hex) is `sha256`: one blob however many files share those bytes.
export function blobKeyOf(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256 digest: ${sha256}`);
  return `blobs/${sha256.slice(0, 2)}/${sha256}`;
}

// The key of the preview (a JPEG thumbnail) of the bytes whose SHA-256 is `sha256`: it goes with the blob.
export function previewKeyOf(sha256: string): string {
  return `previews/${blobKeyOf(sha256).slice('blobs/'.length)}-320.jpg`;
}
