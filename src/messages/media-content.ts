import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config.ts';
import { AppError } from '../domain/errors.ts';
import type { MediaContent, MediaFile, MediaKind, MessageRef } from '../domain/messages.ts';
import { fetchMediaUrl } from '../files/fetch-url.ts';
import { filesForSend, storeFile, type FileForSend } from '../files/file-records.ts';
import type { FileStorage } from '../files/storage.ts';
import { canSendAs } from '../media/prepare.ts';

// The content of a media message as a send request describes it: the file (one of the sender's, or fetched from a
// URL and stored as one), checked against the kind asked for before anything is queued, so that a PDF sent as an
// image is a 415 now rather than a failed message later.

export interface MediaSource {
  fileId?: string;
  url?: string;
}

export interface MediaRequest extends MediaSource {
  type: MediaKind;
  caption?: string;
  filename?: string;
  ptt?: boolean;
  quoted?: MessageRef;
}

export interface MediaContext {
  em: EntityManager;
  storage: FileStorage;
  config: Config;
  // The owner of the sending device: the file must be theirs, and a fetched one becomes theirs.
  userId: number;
}

// The largest file any kind may be (a URL announcing more is refused before its body is read).
const MAX_FETCH_BYTES = 100 * 1024 * 1024;

export async function fileOf(context: MediaContext, source: MediaSource): Promise<FileForSend> {
  if ((source.fileId === undefined) === (source.url === undefined)) throw new AppError('VALIDATION_ERROR', 'give either fileId or url');
  if (source.fileId !== undefined) return (await filesForSend(context.em, context.userId, [source.fileId])).get(source.fileId)!;
  const fetched = await fetchMediaUrl(source.url!, {
    allowPrivate: context.config.files.allowPrivateUrls,
    timeoutMs: context.config.files.urlFetchTimeoutMs,
    maxBytes: MAX_FETCH_BYTES,
  });
  return storeFile(context, { userId: context.userId, body: fetched.body, filename: fetched.filename, source: 'url' });
}

export function mediaFileOf(file: FileForSend): MediaFile {
  return { fileId: file.fileId, sha256: file.sha256, mimetype: file.mimetype, size: file.size, filename: file.filename };
}

export function checkSendable(type: MediaKind, ptt: boolean | undefined, file: FileForSend): void {
  const kind = type === 'audio' && ptt ? 'voice' : type;
  if (!canSendAs(kind, file.kind, file.mimetype)) {
    throw new AppError('INVALID_FILE_TYPE', `${file.fileId} is ${article(file.kind)} ${file.kind} (${file.mimetype}); it cannot be sent as ${kind === 'voice' ? 'a voice note' : article(kind) + ' ' + kind}`);
  }
}

const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');

export async function mediaContentOf(context: MediaContext, request: MediaRequest): Promise<MediaContent> {
  const file = await fileOf(context, request);
  checkSendable(request.type, request.ptt, file);
  return {
    type: request.type,
    file: mediaFileOf(file),
    ...(request.caption ? { caption: request.caption } : {}),
    ...(request.filename ? { filename: request.filename } : {}),
    ...(request.ptt ? { ptt: true } : {}),
    ...(request.quoted ? { quoted: request.quoted } : {}),
  };
}
