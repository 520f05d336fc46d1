import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import { fileTypeFromFile } from 'file-type';
import sharp from 'sharp';
import type { Principal } from '../auth/context.ts';
import type { Config } from '../config.ts';
import { transaction } from '../db/transactions.ts';
import { AppError } from '../domain/errors.ts';
import { streamOf } from '../domain/events.ts';
import { COMPOUND_FILE_EXTENSIONS, fileTypeOf, MAX_FILE_SIZE, newFileId, sanitizeFilename, SIZE_LIMITS, type FileKind, type FileType } from '../domain/files.ts';
import { appendToStream, readStream, sqlOf, type Row, type Sql } from '../events/event-store.ts';
import { receivedMessageIdOf } from '../domain/messages.ts';
import { blobKeyOf, previewKeyOf, type FileStorage } from './storage.ts';
import { scratchDir } from './scratch.ts';

// Files as rows (metadata in PostgreSQL) over content-addressed blobs in storage. A file's bytes are streamed to a
// scratch file while they are hashed and counted (never held whole in memory), typed by their bytes rather than
// their name, checked against WhatsApp's limit for their kind and the user's quota, written to storage once per
// digest, and only then recorded, with `file.uploaded`, in one transaction. A failure at any step leaves no row.

export interface FileForSend {
  fileId: string;
  userId: number;
  kind: FileKind;
  mimetype: string;
  size: number;
  sha256: string;
  filename: string;
  width?: number;
  height?: number;
}

export interface FileRecord extends FileForSend {
  description: string | null;
  tags: string[];
  source: string;
  createdAt: string;
}

export interface StoreContext {
  em: EntityManager;
  storage: FileStorage;
  config: Config;
}

export interface NewFile {
  userId: number;
  body: Readable;
  filename?: string;
  source: 'upload' | 'url' | 'received';
  // Received media are stored under the id their message already named.
  fileId?: string;
  description?: string;
  tags?: string[];
}

const COLUMNS = 'id, tenant_id, sha256, size, mimetype, kind, filename, description, tags, source, width, height, created_at';

export function fileRecordOf(row: Row): FileRecord {
  return {
    fileId: String(row.id),
    userId: Number(row.tenant_id),
    kind: row.kind as FileKind,
    mimetype: String(row.mimetype),
    size: Number(row.size),
    sha256: String(row.sha256),
    filename: String(row.filename),
    ...(row.width === null ? {} : { width: Number(row.width), height: Number(row.height) }),
    description: (row.description as string | null) ?? null,
    tags: (row.tags as string[] | null) ?? [],
    source: String(row.source),
    createdAt: new Date(String(row.created_at)).toISOString(),
  };
}

interface Received {
  path: string;
  size: number;
  sha256: string;
}

// Streams the body to a scratch file, hashing and counting; past the largest size any kind may have, it stops.
async function receive(body: Readable, dir: string): Promise<Received> {
  const path = join(dir, 'body');
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > MAX_FILE_SIZE) return callback(new AppError('FILE_TOO_LARGE', `files may be at most ${MAX_FILE_SIZE} bytes`));
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  await pipeline(body, count, createWriteStream(path));
  return { path, size, sha256: hash.digest('hex') };
}

async function typeOf(path: string, filename: string | undefined) {
  const detected = await fileTypeFromFile(path);
  const named = filename?.toLowerCase().split('.').at(-1);
  const extension = detected?.ext === 'cfb' && named && (COMPOUND_FILE_EXTENSIONS as readonly string[]).includes(named) ? named : detected?.ext;
  const type = extension ? fileTypeOf(extension) : undefined;
  if (!type) {
    throw new AppError(
      'INVALID_FILE_TYPE',
      `${detected ? `${detected.mime} files are` : 'this file type is'} not supported (by its contents, whatever its name says): images JPG, PNG, GIF, WebP; videos MP4, AVI, MOV; documents PDF, DOC(X), XLS(X), PPT(X); audio MP3, WAV, OGG, M4A`,
    );
  }
  return type;
}

// A body received and typed, waiting in a scratch directory to be recorded (or discarded).
export interface StagedFile {
  path: string;
  size: number;
  sha256: string;
  type: FileType;
  width?: number;
  height?: number;
  discard(): Promise<void>;
}

// Streams a body to a scratch file and types it by its bytes; the caller records or discards it.
export async function stageFile(body: Readable, filename: string | undefined): Promise<StagedFile> {
  const dir = await scratchDir('upload');
  const discard = () => rm(dir, { recursive: true, force: true });
  try {
    const received = await receive(body, dir);
    if (received.size === 0) throw new AppError('VALIDATION_ERROR', 'the file is empty');
    const type = await typeOf(received.path, filename);
    if (received.size > SIZE_LIMITS[type.kind]) {
      throw new AppError('FILE_TOO_LARGE', `${type.kind} files may be at most ${SIZE_LIMITS[type.kind]} bytes (WhatsApp's limit); this one has ${received.size}`);
    }
    const dimensions = type.kind === 'image' ? await sharp(received.path).metadata().then((m) => (m.width && m.height ? { width: m.width, height: m.height } : undefined), () => undefined) : undefined;
    return { ...received, type, ...dimensions, discard };
  } catch (err) {
    await discard();
    throw err;
  }
}

export type FileDetails = Omit<NewFile, 'body'>;

// Checks the owner's quota, writes the bytes to storage (once per digest) and records the file with `file.uploaded`.
export async function commitFile({ em, storage, config }: StoreContext, staged: StagedFile, file: FileDetails): Promise<FileRecord> {
  const quota = config.files.quotaBytes;
  // What a device receives is kept whatever the quota: refusing it would lose a customer's media.
  if (quota > 0 && file.source !== 'received') {
    const [used] = await sqlOf(em)('select coalesce(sum(size), 0) as used from files where tenant_id = ? and deleted_at is null', [file.userId]);
    if (Number(used!.used) + staged.size > quota) {
      throw new AppError('QUOTA_EXCEEDED', `this file (${staged.size} bytes) does not fit in the ${quota} bytes your files may take (${Number(used!.used)} in use); delete some first`);
    }
  }
  const { type } = staged;
  const key = blobKeyOf(staged.sha256);
  const write = () => storage.put(key, createReadStream(staged.path), staged.size, type.mimetype);
  // Written before the row: a crash between the two leaves a blob no row names, never a row without its bytes.
  await write();
  const fileId = file.fileId ?? newFileId();
  const filename = sanitizeFilename(file.filename, type.extension);
  return transaction(em, async (tx) => {
    const sql = sqlOf(tx);
    // The same bytes may have been purged since the write above found them there already (the write was a no-op).
    await lockBlob(sql, staged.sha256);
    if (!(await storage.stat(key))) await write();
    const [row] = await sql(
      `insert into files (id, tenant_id, sha256, size, mimetype, kind, filename, description, tags, source, width, height)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?::text[], ?, ?, ?) on conflict (id) do nothing returning ${COLUMNS}`,
      [fileId, file.userId, staged.sha256, staged.size, type.mimetype, type.kind, filename, file.description ?? null, `{${(file.tags ?? []).map(arrayItem).join(',')}}`, file.source, staged.width ?? null, staged.height ?? null],
    );
    // A received file stored again (its download ran twice): the first one stands.
    if (!row) return fileRecordOf((await sql(`select ${COLUMNS} from files where id = ?`, [fileId]))[0]!);
    await appendToStream(
      tx,
      streamOf.file(fileId),
      [{ event: { type: 'file.uploaded', data: { fileId, userId: file.userId, kind: type.kind, mimetype: type.mimetype, size: staged.size, sha256: staged.sha256, filename, source: file.source } } }],
      { expectedVersion: 'no-stream', metadata: { tenantId: file.userId } },
    );
    return fileRecordOf(row);
  });
}

export async function storeFile(context: StoreContext, file: NewFile): Promise<FileRecord> {
  const { body, ...details } = file;
  const staged = await stageFile(body, file.filename);
  try {
    return await commitFile(context, staged, details);
  } finally {
    await staged.discard();
  }
}

const arrayItem = (text: string) => `"${text.replace(/["\\]/g, '\\$&')}"`;

const visible = (principal: Principal, row: Row | undefined) => row && (principal.role === 'admin' || Number(row.tenant_id) === principal.userId);

// Who reads a file: its owner (or an administrator), or whoever holds a signed link (checked by the caller) or the
// platform itself (`signed-link` too: it reads on the owner's behalf).
export type FileReader = Principal | 'signed-link';

// A live file its reader may see.
export async function findFile(em: EntityManager, reader: FileReader, fileId: string): Promise<FileRecord> {
  const [row] = await sqlOf(em)(`select ${COLUMNS} from files where id = ? and deleted_at is null`, [fileId]);
  if (!row || (reader !== 'signed-link' && !visible(reader, row))) throw new AppError('FILE_NOT_FOUND', `No file ${fileId}`);
  return fileRecordOf(row!);
}

// A received media message's file whose download has not ended yet (it is queued, running or retrying), and which
// this reader will be able to read.
export async function receivedFilePending(em: EntityManager, reader: FileReader, fileId: string): Promise<boolean> {
  const messageId = receivedMessageIdOf(fileId);
  if (!messageId) return false;
  const events = await readStream(em, streamOf.message(messageId));
  const owner = events[0]?.metadata.tenantId;
  if (reader !== 'signed-link' && reader.role !== 'admin' && owner !== reader.userId) return false;
  const types = new Set(events.map((e) => e.type));
  return types.has('message.media-received') && !types.has('message.media-stored') && !types.has('message.media-failed');
}

const PENDING_WAIT_MS = 30_000;
const PENDING_POLL_MS = 250;

// The file, waiting up to 30 s for one a device received and is still downloading (or until `until()` says stop).
export async function waitForFile(em: () => EntityManager, reader: FileReader, fileId: string, { until = () => false }: { until?: () => boolean } = {}): Promise<FileRecord> {
  const deadline = Date.now() + PENDING_WAIT_MS;
  for (;;) {
    try {
      return await findFile(em(), reader, fileId);
    } catch (err) {
      const waiting = err instanceof AppError && err.code === 'FILE_NOT_FOUND' && Date.now() < deadline && !until();
      if (!waiting || !(await receivedFilePending(em(), reader, fileId))) throw err;
      await new Promise((resolve) => setTimeout(resolve, PENDING_POLL_MS));
    }
  }
}

// Live files of that user among these ids (missing, deleted and other users' ones are absent).
export async function liveFilesOf(em: EntityManager, userId: number, fileIds: string[]): Promise<Map<string, FileForSend>> {
  if (!fileIds.length) return new Map();
  const rows = await sqlOf(em)(`select ${COLUMNS} from files where id in (?) and tenant_id = ? and deleted_at is null`, [[...new Set(fileIds)], userId]);
  return new Map(rows.map((row) => [String(row.id), fileRecordOf(row)]));
}

// Live files of that user, by id; the first id that is missing, deleted or another user's is FILE_NOT_FOUND.
export async function filesForSend(em: EntityManager, userId: number, fileIds: string[]): Promise<Map<string, FileForSend>> {
  const found = await liveFilesOf(em, userId, fileIds);
  const missing = fileIds.find((id) => !found.has(id));
  if (missing) throw new AppError('FILE_NOT_FOUND', `No file ${missing} of the sending device's owner`);
  return found;
}

export interface FileHold {
  messageId: string;
  fileId: string;
}

// In the transaction that queues messages: each needs its file until it ends. The rows are locked against a
// deletion running at the same time; a file deleted meanwhile is FILE_NOT_FOUND.
export async function holdFiles(em: EntityManager, holds: FileHold[]): Promise<void> {
  if (!holds.length) return;
  const sql = sqlOf(em);
  const fileIds = [...new Set(holds.map((h) => h.fileId))];
  const rows = await sql('select id from files where id in (?) and deleted_at is null for share', [fileIds]);
  if (rows.length !== fileIds.length) throw new AppError('FILE_NOT_FOUND', 'A file of this message was deleted meanwhile');
  await sql('insert into file_holds (file_id, message_id) select * from unnest(?::text[], ?::text[]) on conflict do nothing', [
    `{${holds.map((h) => h.fileId).join(',')}}`,
    `{${holds.map((h) => h.messageId).join(',')}}`,
  ]);
}

// When messages end (sent, failed, cancelled): called by the messages projection in its transaction.
export async function releaseFileHolds(sql: Sql, messageIds: string[]): Promise<void> {
  if (messageIds.length) await sql('delete from file_holds where message_id in (?)', [messageIds]);
}

// Deletes files (all or none): they disappear at once; each one's bytes go when no other file shares them and no
// message holds it (a held file's bytes wait for its messages).
export async function deleteFiles({ em, storage }: StoreContext, principal: Principal, fileIds: string[]): Promise<string[]> {
  const unique = [...new Set(fileIds)];
  const deleted = await transaction(em, async (tx) => {
    const sql = sqlOf(tx);
    const rows = await sql('select id, tenant_id, sha256 from files where id in (?) and deleted_at is null for update', [unique]);
    const mine = rows.filter((row) => visible(principal, row));
    const missing = unique.find((id) => !mine.some((row) => row.id === id));
    if (missing) throw new AppError('FILE_NOT_FOUND', `No file ${missing}; nothing was deleted`);
    await sql('update files set deleted_at = now() where id in (?)', [unique]);
    for (const row of mine) {
      await appendToStream(tx, streamOf.file(String(row.id)), [{ event: { type: 'file.deleted', data: { fileId: String(row.id), userId: Number(row.tenant_id) } } }], {
        expectedVersion: 'any',
        metadata: { tenantId: Number(row.tenant_id) },
      });
    }
    return mine.map((row) => String(row.sha256));
  });
  await removeUnusedBlobs({ em, storage }, deleted);
  return unique;
}

// One blob's purge and one upload of the same bytes never interleave (see purgeBlob).
const lockBlob = (sql: Sql, sha256: string) => sql('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`blob:${sha256}`]);

// Removes the bytes (and preview) of a digest no live file names and no held file needs, with the deleted rows that
// named it, and answers whether it did. Under the digest's lock, so an upload of the same bytes either finds the
// blob gone and writes it again, or is seen here as a live file.
export async function purgeBlob({ em, storage }: Pick<StoreContext, 'em' | 'storage'>, sha256: string): Promise<boolean> {
  return transaction(em, async (tx) => {
    const sql = sqlOf(tx);
    await lockBlob(sql, sha256);
    const [row] = await sql(
      'select exists (select 1 from files f where f.sha256 = ? and (f.deleted_at is null or exists (select 1 from file_holds h where h.file_id = f.id))) as used',
      [sha256],
    );
    if (row!.used) return false;
    await storage.delete(blobKeyOf(sha256));
    await storage.delete(previewKeyOf(sha256));
    await sql('delete from files where sha256 = ? and deleted_at is not null', [sha256]);
    return true;
  });
}

// The blobs among these digests that no live file names and no held file needs (after the rows' transaction: a
// crash before this leaves them for the purge job, never a file without bytes).
async function removeUnusedBlobs(context: Pick<StoreContext, 'em' | 'storage'>, digests: string[]): Promise<void> {
  for (const sha256 of new Set(digests)) await purgeBlob(context, sha256);
}

// The maintenance job: bytes whose files were all deleted, once the messages that held them have ended (deletion
// leaves those for later), or whose removal a crash interrupted.
export async function purgeUnusedBlobs(context: Pick<StoreContext, 'em' | 'storage'>, now: Date, limit = 500): Promise<number> {
  const rows = await sqlOf(context.em)(
    `select f.sha256 from files f group by f.sha256
     having bool_and(f.deleted_at is not null) and not bool_or(exists (select 1 from file_holds h where h.file_id = f.id)) limit ?`,
    [limit],
  );
  let purged = 0;
  for (const row of rows) if (await purgeBlob(context, String(row.sha256))) purged += 1;
  return purged + (await purgeOrphanBlobs(context, new Date(now.getTime() - ORPHAN_AGE_MS)));
}

// A blob no row names at all: an upload that crashed between writing its bytes and recording the file. Given an
// hour (an upload's row follows its bytes within seconds), then purged under the digest's lock like any other.
const ORPHAN_AGE_MS = 3_600_000;
const BLOB_KEY = /^blobs\/[0-9a-f]{2}\/([0-9a-f]{64})$/;

async function purgeOrphanBlobs(context: Pick<StoreContext, 'em' | 'storage'>, writtenBefore: Date): Promise<number> {
  let purged = 0;
  let batch: string[] = [];
  const sweep = async () => {
    const named = new Set((await sqlOf(context.em)('select distinct sha256 from files where sha256 in (?)', [batch])).map((row) => String(row.sha256)));
    for (const sha256 of batch) if (!named.has(sha256) && (await purgeBlob(context, sha256))) purged += 1;
    batch = [];
  };
  for await (const { key, modifiedAt } of context.storage.list('blobs/')) {
    const sha256 = BLOB_KEY.exec(key)?.[1];
    if (!sha256 || modifiedAt >= writtenBefore) continue;
    batch.push(sha256);
    if (batch.length === 500) await sweep();
  }
  if (batch.length) await sweep();
  return purged;
}
