import multipart from '@fastify/multipart';
import { Type, type Static } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { resolveUser } from '../../devices/devices.ts';
import { AppError } from '../../domain/errors.ts';
import { MAX_FILE_SIZE, type FileKind } from '../../domain/files.ts';
import { commitFile, deleteFiles, findFile, stageFile, waitForFile, type FileReader, type FileRecord, type StagedFile } from '../../files/file-records.ts';
import { fileStats, listFiles } from '../../files/file-views.ts';
import { PREVIEW_KINDS, previewKey } from '../../files/previews.ts';
import { checkFileLink, signedFileUrl, type FileLinkPurpose } from '../../files/signed-urls.ts';
import { blobKeyOf } from '../../files/storage.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IsoDate, Nullable, ok, Paging, UserParams } from '../schemas.ts';

// Seed 004's File Management. An upload streams to a scratch file while it is hashed and typed (never held whole in
// memory), whatever the order of the form's fields, and is recorded only once it is complete and checked. Bytes
// are served with ranges and validators to the owner, or to whoever holds a signed link (previews, and the links
// webhooks carry), never by id alone.

const FileId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const FileParams = Type.Object({ fileId: FileId });
const Kind = Type.Union([Type.Literal('image'), Type.Literal('video'), Type.Literal('audio'), Type.Literal('document')]);

const FileView = Type.Object({
  fileId: Type.String(),
  filename: Type.String(),
  size: Type.Integer(),
  mimetype: Type.String(),
  kind: Kind,
  sha256: Type.String({ description: 'SHA-256 of the bytes (hex)' }),
  description: Nullable(Type.String()),
  tags: Type.Array(Type.String()),
  source: Type.String({ description: 'upload, url (fetched for a send) or received (a media message a device received)' }),
  width: Type.Optional(Type.Integer()),
  height: Type.Optional(Type.Integer()),
  createdAt: IsoDate,
  url: Type.String({ description: 'These details' }),
  downloadUrl: Type.String({ description: 'The bytes, with your credentials' }),
  previewUrl: Nullable(Type.String({ description: 'A thumbnail, for anyone holding this link until it expires (images and videos)' })),
});

const MAX_TAGS = 20;
const MAX_TAG = 50;
const MAX_DESCRIPTION = 1000;

function viewOf(request: FastifyRequest, file: FileRecord): Static<typeof FileView> {
  const { userId: _owner, ...details } = file;
  const path = `/api/whatsapp/files/${encodeURIComponent(file.fileId)}`;
  const previewable = PREVIEW_KINDS.includes(file.kind);
  return {
    ...details,
    url: path,
    downloadUrl: `${path}/download`,
    previewUrl: previewable ? signedFileUrl(request.server.config, file.fileId, 'preview', request.server.clock()) : null,
  };
}

interface UploadForm {
  staged?: StagedFile;
  filename?: string;
  fields: Record<string, string>;
}

// The form's parts in any order (curl sends `file` first, Python's requests last); the file part is staged as it
// streams in. A second file, or a body that ends early, fails the upload and leaves nothing behind.
async function readUploadForm(request: FastifyRequest): Promise<UploadForm> {
  const form: UploadForm = { fields: {} };
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        form.fields[part.fieldname] = String(part.value);
      } else if (part.fieldname !== 'file' || form.staged) {
        part.file.resume();
        throw new AppError('UPLOAD_FAILED', part.fieldname === 'file' ? 'Send one file per upload' : `Unexpected file field "${part.fieldname}": the file goes in "file"`);
      } else {
        form.filename = part.filename;
        form.staged = await stageFile(part.file, part.filename);
      }
    }
    return form;
  } catch (err) {
    await form.staged?.discard();
    throw uploadError(err);
  }
}

// What busboy and the multipart plugin throw, in our codes.
function uploadError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return new AppError('FILE_TOO_LARGE', `files may be at most ${MAX_FILE_SIZE} bytes`);
  if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Upload files as multipart/form-data (curl -F "file=@path")');
  const message = err instanceof Error ? err.message : String(err);
  return new AppError('UPLOAD_FAILED', `The upload did not arrive whole (${message}); nothing was stored`);
}

function tagsOf(text: string | undefined): string[] {
  const tags = [...new Set((text ?? '').split(',').map((t) => t.trim()).filter(Boolean))];
  if (tags.length > MAX_TAGS || tags.some((t) => t.length > MAX_TAG)) throw new AppError('VALIDATION_ERROR', `tags: at most ${MAX_TAGS}, comma-separated, each at most ${MAX_TAG} characters`);
  return tags;
}

function descriptionOf(text: string | undefined): string | undefined {
  if (text !== undefined && text.length > MAX_DESCRIPTION) throw new AppError('VALIDATION_ERROR', `description: at most ${MAX_DESCRIPTION} characters`);
  return text?.trim() || undefined;
}

const LinkQuery = Type.Object({
  expires: Type.Optional(Type.Integer({ minimum: 0, description: 'With signature: a signed link (from previewUrl, or a webhook)' })),
  signature: Type.Optional(Type.String({ maxLength: 100 })),
});

// A webhook receiver follows a received file's link as soon as the message arrives, usually before the download
// job has stored the bytes: the download waits for them.
const whenStored = (request: FastifyRequest, reader: FileReader, fileId: string) =>
  waitForFile(() => request.em.fork(), reader, fileId, { until: () => request.raw.destroyed });

// The file a request may read: by a signed link for that purpose, or as its owner (or an administrator).
async function readableFile(request: FastifyRequest, fileId: string, purpose: FileLinkPurpose, link: Static<typeof LinkQuery>): Promise<FileRecord> {
  if (link.signature === undefined) return whenStored(request, principalOf(request), fileId);
  const { config } = request.server;
  const check = link.expires === undefined ? 'invalid' : checkFileLink(config, fileId, purpose, link.expires, link.signature, request.server.clock());
  if (check === 'expired') throw new AppError('TOKEN_EXPIRED', 'This link has expired: ask for the file details again for a fresh one');
  if (check === 'invalid') throw new AppError('INVALID_TOKEN', 'This link is not valid for this file');
  return whenStored(request, 'signed-link', fileId);
}

// `bytes=a-b`, `bytes=a-` or `bytes=-n`; one range (several would need multipart answers nobody here asks for).
export function rangeOf(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (!match[1] && !match[2])) return undefined;
  const [start, end] = match[1] ? [Number(match[1]), match[2] ? Math.min(Number(match[2]), size - 1) : size - 1] : [Math.max(0, size - Number(match[2])), size - 1];
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

async function sendBytes(request: FastifyRequest, reply: FastifyReply, file: FileRecord, disposition: 'attachment' | 'inline') {
  const etag = `"${file.sha256}"`;
  reply.header('etag', etag).header('accept-ranges', 'bytes').header('cache-control', 'private, max-age=3600');
  reply.header('content-disposition', `${disposition}; filename="${file.filename.replace(/[^\x20-\x7e]|[\\"]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(file.filename)}`);
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  const ifRange = request.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? rangeOf(request.headers.range, file.size) : undefined;
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${file.size}`);
    throw new AppError('RANGE_NOT_SATISFIABLE', `The file has ${file.size} bytes; the range asked for "${request.headers.range}" holds none of them`);
  }
  const body = await request.server.storage.get(blobKeyOf(file.sha256), range);
  reply.type(file.mimetype);
  if (!range) return reply.header('content-length', file.size).send(body);
  return reply
    .code(206)
    .header('content-range', `bytes ${range.start}-${range.end}/${file.size}`)
    .header('content-length', range.end - range.start + 1)
    .send(body);
}

const Binary = (description: string, type = 'application/octet-stream') => ({ description, content: { [type]: { schema: { type: 'string', format: 'binary' } } } });

const fileRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['files'];
  // One file part, bounded one byte past the largest size any kind may have (stageFile says which limit applies).
  await app.register(multipart, { limits: { files: 1, fields: 10, fieldSize: 4096, parts: 12, fileSize: MAX_FILE_SIZE + 1 } });

  app.post('/api/whatsapp/files/upload', {
    config: { scope: 'send', rateLimitGroup: 'uploads' },
    schema: {
      tags,
      summary: 'Upload a file (multipart/form-data: file, userId, description, tags); typed by its bytes, within WhatsApp\'s limits and your quota',
      description:
        'Form fields: `file` (the bytes), `userId` (whose file; default: yours), `description`, `tags` (comma-separated). Types: images JPG, PNG, GIF, WebP (16 MiB); videos MP4, AVI, MOV (64 MiB); audio MP3, WAV, OGG, M4A (16 MiB); documents PDF, DOC(X), XLS(X), PPT(X) (100 MiB).',
      consumes: ['multipart/form-data'],
      response: { 201: ok(FileView), ...errors(400, 401, 403, 404, 413, 415, 429) },
    },
    handler: async (request, reply) => {
      if (!request.isMultipart()) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Upload files as multipart/form-data (curl -F "file=@path" -F "userId=…")');
      const { staged, filename, fields } = await readUploadForm(request);
      try {
        if (!staged) throw new AppError('VALIDATION_ERROR', 'The form has no "file" field: send the file as -F "file=@path"');
        const user = await resolveUser(request.em, principalOf(request), fields.userId?.trim() || undefined);
        const details = { userId: user.id, source: 'upload' as const, filename, description: descriptionOf(fields.description), tags: tagsOf(fields.tags) };
        const file = await commitFile({ em: request.em, storage: app.storage, config: app.config }, staged, details);
        return reply.code(201).send({ success: true, data: viewOf(request, file) });
      } finally {
        await staged?.discard();
      }
    },
  });

  app.get('/api/whatsapp/files/:fileId', {
    config: { scope: 'read' },
    schema: { tags, summary: "A file's details, with a signed preview link", params: FileParams, response: { 200: ok(FileView), ...errors(401, 404, 429) } },
    handler: async (request) => ({ success: true, data: viewOf(request, await findFile(request.em, principalOf(request), request.params.fileId)) }) as const,
  });

  app.get('/api/whatsapp/files/users/:userId/stats', {
    config: { scope: 'read' },
    schema: {
      tags,
      summary: "A user's files: how many and how large, by type, and the quota left",
      params: UserParams,
      response: {
        200: ok(
          Type.Object({
            totalFiles: Type.Integer(),
            totalSize: Type.Integer(),
            byType: Type.Record(Type.String(), Type.Object({ count: Type.Integer(), size: Type.Integer() })),
            quotaBytes: Nullable(Type.Integer()),
            remainingBytes: Nullable(Type.Integer()),
          }),
        ),
        ...errors(401, 404, 429),
      },
    },
    handler: async (request) => {
      const user = await resolveUser(request.em, principalOf(request), request.params.userId);
      return { success: true, data: await fileStats(request.em, user.id, app.config.files.quotaBytes) } as const;
    },
  });

  app.get('/api/whatsapp/files/users/:userId/:type', {
    config: { scope: 'read' },
    schema: {
      tags,
      summary: "A user's files of one type (image, video, audio, document), newest first",
      params: Type.Object({ userId: UserParams.properties.userId, type: Kind }),
      querystring: Type.Object(Paging),
      response: { 200: ok(Type.Object({ items: Type.Array(FileView), nextCursor: Nullable(Type.String()) })), ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const user = await resolveUser(request.em, principalOf(request), request.params.userId);
      const { items, nextCursor } = await listFiles(request.em, user.id, request.params.type as FileKind, request.query.limit, request.query.cursor);
      return { success: true, data: { items: items.map((file) => viewOf(request, file)), nextCursor } } as const;
    },
  });

  app.get('/api/whatsapp/files/:fileId/download', {
    config: { auth: 'signed', scope: 'read' },
    schema: {
      tags,
      summary: 'The bytes of a file (Range requests, ETag), with your credentials or a signed link',
      params: FileParams,
      querystring: LinkQuery,
      response: { 200: Binary('The file'), 206: Binary('The range asked for'), 304: { description: 'Not modified', type: 'null' }, ...errors(401, 404, 416, 429) },
    },
    handler: async (request, reply) => sendBytes(request, reply, await readableFile(request, request.params.fileId, 'download', request.query), 'attachment'),
  });

  app.get('/api/whatsapp/files/:fileId/preview', {
    config: { auth: 'signed', scope: 'read' },
    schema: {
      tags,
      summary: "A JPEG thumbnail of an image or a video's first frame, with your credentials or the signed previewUrl",
      params: FileParams,
      querystring: LinkQuery,
      response: { 200: Binary('A JPEG at most 320 px on its long side', 'image/jpeg'), ...errors(401, 404, 429) },
    },
    handler: async (request, reply) => {
      const file = await readableFile(request, request.params.fileId, 'preview', request.query);
      if (!PREVIEW_KINDS.includes(file.kind)) throw new AppError('NOT_FOUND', `A ${file.kind} file has no preview: download it instead`);
      const { key, size } = await previewKey(app.storage, file);
      return reply.type('image/jpeg').header('content-length', size).header('cache-control', 'private, max-age=3600').send(await app.storage.get(key));
    },
  });

  app.delete('/api/whatsapp/files/bulk', {
    config: { scope: 'send' },
    schema: {
      tags,
      summary: 'Delete several files, all or none (the bytes of those a queued message still needs go when it ends)',
      body: Type.Object({ fileIds: Type.Array(FileId, { minItems: 1, maxItems: 100 }) }),
      response: { 200: ok(Type.Object({ deleted: Type.Array(Type.String()) })), ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const deleted = await deleteFiles({ em: request.em, storage: app.storage, config: app.config }, principalOf(request), request.body.fileIds);
      return { success: true, data: { deleted } } as const;
    },
  });

  app.delete('/api/whatsapp/files/:fileId', {
    config: { scope: 'send' },
    schema: {
      tags,
      summary: 'Delete a file (its bytes wait for any queued message that still needs them)',
      params: FileParams,
      response: { 200: ok(Type.Object({ deleted: Type.Array(Type.String()) })), ...errors(401, 404, 429) },
    },
    handler: async (request) => {
      const deleted = await deleteFiles({ em: request.em, storage: app.storage, config: app.config }, principalOf(request), [request.params.fileId]);
      return { success: true, data: { deleted } } as const;
    },
  });
};

export default fileRoutes;
