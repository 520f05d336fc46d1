import type { EntityManager } from '@mikro-orm/postgresql';
import { decodeCursor, encodeCursor } from '../db/keyset-cursor.ts';
import { FILE_KINDS, type FileKind } from '../domain/files.ts';
import { sqlOf } from '../events/event-store.ts';
import { fileRecordOf, type FileRecord } from './file-records.ts';

// A user's files as the API lists them: by kind, newest first, in pages; and what they add up to.

const COLUMNS = 'id, tenant_id, sha256, size, mimetype, kind, filename, description, tags, source, width, height, created_at';

export async function listFiles(em: EntityManager, userId: number, kind: FileKind, limit: number, cursor?: string): Promise<{ items: FileRecord[]; nextCursor: string | null }> {
  const after = decodeCursor(cursor);
  const rows = await sqlOf(em)(
    `select ${COLUMNS} from files where tenant_id = ? and kind = ? and deleted_at is null
     ${after ? 'and (created_at, id) < (?::timestamptz, ?)' : ''} order by created_at desc, id desc limit ?`,
    [userId, kind, ...(after ?? []), limit + 1],
  );
  const items = rows.slice(0, limit).map(fileRecordOf);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.fileId) : null };
}

export interface FileStats {
  totalFiles: number;
  totalSize: number;
  byType: Record<FileKind, { count: number; size: number }>;
  quotaBytes: number | null;
  remainingBytes: number | null;
}

export async function fileStats(em: EntityManager, userId: number, quotaBytes: number): Promise<FileStats> {
  const rows = await sqlOf(em)('select kind, count(*) as n, coalesce(sum(size), 0) as bytes from files where tenant_id = ? and deleted_at is null group by kind', [userId]);
  const byType = Object.fromEntries(FILE_KINDS.map((kind) => [kind, { count: 0, size: 0 }])) as FileStats['byType'];
  for (const row of rows) byType[row.kind as FileKind] = { count: Number(row.n), size: Number(row.bytes) };
  const totalSize = Object.values(byType).reduce((sum, t) => sum + t.size, 0);
  return {
    totalFiles: Object.values(byType).reduce((sum, t) => sum + t.count, 0),
    totalSize,
    byType,
    quotaBytes: quotaBytes || null,
    remainingBytes: quotaBytes ? Math.max(0, quotaBytes - totalSize) : null,
  };
}
