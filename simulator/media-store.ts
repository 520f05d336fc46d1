import { randomBytes } from 'node:crypto';
import type { BinaryNode } from '@whiskeysockets/baileys';
import { MEDIA_PATHS, type MediaPath } from './media-crypto.ts';

// WhatsApp's media servers as the simulator keeps them: encrypted bodies by direct path, the upload auth tokens
// `media_conn` handed out, and counts for tests to assert on. It never sees a media key.

// A status a stored body answers downloads with instead of itself, until the sending phone re-uploads it
// (what WhatsApp does with media it has expired).
export type DownloadFailure = 404 | 410;

interface Blob {
  body: Buffer;
  path: MediaPath;
  failWith?: DownloadFailure;
}

export interface MediaStats {
  uploads: { total: number; bytes: number; byPath: Record<MediaPath, number> };
  rejected: number;
  downloads: { total: number; byStatus: Record<string, number> };
}

// How long Baileys keeps a `media_conn` answer before asking again (seconds). Without it, for the socket's life.
const MEDIA_CONN_TTL_S = 300;
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

export class MediaStore {
  // `127.0.0.1:<port>` once the media server listens: what `media_conn` names and stored URLs start with.
  host = '';
  readonly #blobs = new Map<string, Blob>();
  readonly #auths = new Set<string>();
  readonly #stats: MediaStats = {
    uploads: { total: 0, bytes: 0, byPath: Object.fromEntries(MEDIA_PATHS.map((p) => [p, 0])) as Record<MediaPath, number> },
    rejected: 0,
    downloads: { total: 0, byStatus: {} },
  };

  // The `media_conn` child of the answer to `<iq xmlns="w:m"><media_conn/>`. A failed answer would stay cached in
  // Baileys and fail every later upload on that socket, so there is always one, with a fresh auth token.
  mediaConn(): BinaryNode {
    const auth = randomBytes(24).toString('base64url');
    this.#auths.add(auth);
    return {
      tag: 'media_conn',
      attrs: { auth, ttl: String(MEDIA_CONN_TTL_S), auth_ttl: String(MEDIA_CONN_TTL_S) },
      content: [{ tag: 'host', attrs: { hostname: this.host, maxContentLengthBytes: String(MAX_UPLOAD_BYTES) } }],
    };
  }

  issued(auth: string): boolean {
    return this.#auths.has(auth);
  }

  // Keeps a body under a new direct path (shaped like WhatsApp's, query included) and returns that path.
  put(body: Buffer, path: MediaPath, failWith?: DownloadFailure): string {
    const directPath = `/v/t62.7118-24/${randomBytes(12).toString('hex')}.enc?ccb=11-4&oh=${randomBytes(8).toString('hex')}&oe=${Date.now().toString(16)}`;
    this.#blobs.set(new URL(directPath, 'https://x').pathname, { body, path, ...(failWith ? { failWith } : {}) });
    return directPath;
  }

  upload(body: Buffer, path: MediaPath): string {
    this.#stats.uploads.total++;
    this.#stats.uploads.bytes += body.length;
    this.#stats.uploads.byPath[path]++;
    return this.put(body, path);
  }

  rejected(): void {
    this.#stats.rejected++;
  }

  urlOf(directPath: string): string {
    return `https://${this.host}${directPath}`;
  }

  // What a download of `directPath` gets (counted): the body, or the status it fails with.
  download(directPath: string): { status: 200; body: Buffer } | { status: number } {
    const found = this.read(directPath);
    const status = !found ? 404 : (found.failWith ?? 200);
    this.#stats.downloads.total++;
    this.#stats.downloads.byStatus[status] = (this.#stats.downloads.byStatus[status] ?? 0) + 1;
    return status === 200 && found ? { status, body: found.body } : { status };
  }

  // A stored body as the simulator's own phones read it (in process, uncounted), failing or not.
  read(directPath: string): Blob | undefined {
    return this.#blobs.get(new URL(directPath, 'https://x').pathname);
  }

  stats(): MediaStats {
    return structuredClone(this.#stats);
  }
}
