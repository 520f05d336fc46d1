import { randomBytes } from 'node:crypto';

// What files the platform keeps, by what their bytes are (seed 004's list), and WhatsApp's size limit per kind.
// Pure: detection of the bytes themselves happens at the edge (src/files/file-types.ts).

export type FileKind = 'image' | 'video' | 'audio' | 'document';
export const FILE_KINDS: readonly FileKind[] = ['image', 'video', 'audio', 'document'];

export interface FileType {
  extension: string;
  mimetype: string;
  kind: FileKind;
}

// Seed 004's supported types (and M4A, which phones record), keyed by the extension file-type names for the bytes.
export const FILE_TYPES: readonly FileType[] = [
  { extension: 'jpg', mimetype: 'image/jpeg', kind: 'image' },
  { extension: 'png', mimetype: 'image/png', kind: 'image' },
  { extension: 'gif', mimetype: 'image/gif', kind: 'image' },
  { extension: 'webp', mimetype: 'image/webp', kind: 'image' },
  { extension: 'mp4', mimetype: 'video/mp4', kind: 'video' },
  { extension: 'avi', mimetype: 'video/vnd.avi', kind: 'video' },
  { extension: 'mov', mimetype: 'video/quicktime', kind: 'video' },
  { extension: 'pdf', mimetype: 'application/pdf', kind: 'document' },
  { extension: 'doc', mimetype: 'application/msword', kind: 'document' },
  { extension: 'docx', mimetype: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', kind: 'document' },
  { extension: 'xls', mimetype: 'application/vnd.ms-excel', kind: 'document' },
  { extension: 'xlsx', mimetype: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', kind: 'document' },
  { extension: 'ppt', mimetype: 'application/vnd.ms-powerpoint', kind: 'document' },
  { extension: 'pptx', mimetype: 'application/vnd.openxmlformats-officedocument.presentationml.presentation', kind: 'document' },
  { extension: 'mp3', mimetype: 'audio/mpeg', kind: 'audio' },
  { extension: 'wav', mimetype: 'audio/wav', kind: 'audio' },
  { extension: 'ogg', mimetype: 'audio/ogg', kind: 'audio' },
  { extension: 'opus', mimetype: 'audio/ogg', kind: 'audio' },
  { extension: 'm4a', mimetype: 'audio/mp4', kind: 'audio' },
];

// Old Office files are all one container format (OLE compound files): the bytes prove the container, the name
// says which of the three it is.
export const COMPOUND_FILE_EXTENSIONS = ['doc', 'xls', 'ppt'] as const;

const MiB = 1024 * 1024;
// WhatsApp's limits for what it carries (documents up to 100 MB on every client).
export const SIZE_LIMITS: Record<FileKind, number> = { image: 16 * MiB, video: 64 * MiB, audio: 16 * MiB, document: 100 * MiB };
export const MAX_FILE_SIZE = Math.max(...Object.values(SIZE_LIMITS));

export function fileTypeOf(extension: string): FileType | undefined {
  return FILE_TYPES.find((t) => t.extension === extension);
}

export function newFileId(): string {
  return `file_${randomBytes(16).toString('base64url').slice(0, 22)}`;
}

const MAX_NAME = 200;

// A name safe to store and show: no directories, no control characters, bounded, and keeping its extension.
export function sanitizeFilename(name: string | undefined, fallbackExtension: string): string {
  const base = (name ?? '').split(/[\\/]/).at(-1)!.replace(/[\u0000-\u001f\u007f"]/g, '').trim().replace(/^\.+/, '');
  if (!base) return `file.${fallbackExtension}`;
  if (base.length <= MAX_NAME) return base;
  const dot = base.lastIndexOf('.');
  const extension = dot > 0 && base.length - dot <= 10 ? base.slice(dot) : '';
  return base.slice(0, MAX_NAME - extension.length) + extension;
}
