import { Type, type Static, type TProperties } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { findSendingDevice, type SendRouteDevice } from '../../devices/devices.ts';
import { AppError } from '../../domain/errors.ts';
import { MAX_CAPTION_LENGTH, type MediaContent, type MediaKind } from '../../domain/messages.ts';
import type { LiveFeed } from '../../events/live-feed.ts';
import { findMessage, refOf } from '../../messages/message-views.ts';
import { mediaContentOf, type MediaContext, type MediaRequest } from '../../messages/media-content.ts';
import { queueMessages } from '../../messages/queue-message.ts';
import { principalOf } from '../plugins/auth.ts';
import { accept, Address, Delivery, recipientOf, Session } from '../send-requests.ts';
import { acceptedResponses, answer, IdempotencyHeaders, WaitQuery, type Waiting } from '../send-answers.ts';
import { errors, IsoDate, ok } from '../schemas.ts';

// Media messages (seed 004): one route per kind, and `/send/mixed` for several files in order. The file is one of
// the sender's (`fileId`, from POST /files/upload) or a public URL fetched once and kept as a file of theirs. The
// request is checked here (the file exists, is theirs, and can be sent as that kind); the conversion WhatsApp needs
// and the upload happen in the worker, when the message's turn comes.

const Source = {
  fileId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A file of yours (POST /api/whatsapp/files/upload)' })),
  url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'Or a public http(s) URL: fetched once and kept as a file of yours' })),
};
const Caption = { caption: Type.Optional(Type.String({ maxLength: MAX_CAPTION_LENGTH })) };
const Filename = { filename: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'The name the document shows (default: the uploaded name)' })) };
const Ptt = { ptt: Type.Optional(Type.Boolean({ description: 'A voice note (converted to Ogg/Opus), rather than an audio file' })) };
const Quoted = { quotedMessageId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Reply to this message' })) };

const KINDS: { kind: MediaKind; summary: string; fields: TProperties }[] = [
  { kind: 'image', summary: 'Queue an image (JPEG, PNG; WebP is converted, an animated GIF goes as a looping video)', fields: Caption },
  { kind: 'video', summary: 'Queue a video (converted to H.264 MP4 where needed; duration and thumbnail added)', fields: Caption },
  { kind: 'document', summary: 'Queue a document (any stored file, with the name it shows)', fields: { ...Caption, ...Filename } },
  { kind: 'audio', summary: 'Queue an audio file, or a voice note with ptt: true', fields: Ptt },
  { kind: 'sticker', summary: 'Queue a sticker (any image, made a 512×512 WebP)', fields: {} },
];

const MixedItem = Type.Object({
  ...Source,
  type: Type.Union(KINDS.map(({ kind }) => Type.Literal(kind))),
  ...Caption,
  ...Filename,
  ...Ptt,
});
const MAX_MIXED = 30;
const MixedAnswer = Type.Object({
  messages: Type.Array(Type.Object({ messageId: Type.String(), fileId: Type.String(), type: Type.String(), status: Type.String(), timestamp: IsoDate })),
});

async function contextOf(request: FastifyRequest, device: SendRouteDevice): Promise<MediaContext> {
  return { em: request.em, storage: request.server.storage, config: request.server.config, userId: device.user.id };
}

async function quotedOf(request: FastifyRequest, quotedMessageId: string | undefined, chatJid: string) {
  if (!quotedMessageId) return undefined;
  const quoted = refOf(await findMessage(request.em, principalOf(request), quotedMessageId));
  if (quoted.chatJid !== chatJid) throw new AppError('VALIDATION_ERROR', 'quotedMessageId is a message of another chat');
  return quoted;
}

const mediaMessageRoutes: FastifyPluginAsyncTypebox<{ liveFeed: LiveFeed }> = async (app, { liveFeed }) => {
  const tags = ['messages'];
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());
  const waiting: Waiting = { liveFeed, closing: closing.signal };

  for (const { kind, summary, fields } of KINDS) {
    const Body = Type.Object({ ...Session, phoneNumber: Address, ...Source, ...fields, ...Quoted, ...Delivery });
    app.post(`/api/whatsapp/send/${kind}`, {
      config: { scope: 'send', rateLimitGroup: 'sending' },
      schema: { tags, summary, headers: IdempotencyHeaders, querystring: WaitQuery, body: Body, response: { ...acceptedResponses, ...errors(413, 415, 422) } },
      handler: async (request, reply) => {
        const body = request.body as Static<typeof Body> & Omit<MediaRequest, 'type' | 'quoted'> & { quotedMessageId?: string };
        const device = await findSendingDevice(request.em, principalOf(request), { sessionId: body.sessionId });
        const recipient = recipientOf(body.phoneNumber);
        const quoted = await quotedOf(request, body.quotedMessageId, recipient.jid);
        const content = await mediaContentOf(await contextOf(request, device), { ...body, type: kind, ...(quoted ? { quoted } : {}) });
        return answer(await accept(request, reply, waiting, device, recipient, content, body));
      },
    });
  }

  app.post('/api/whatsapp/send/mixed', {
    config: { scope: 'send', rateLimitGroup: 'sending' },
    schema: {
      tags,
      summary: 'Queue several media messages to one chat, in the order given (each its own message and status)',
      headers: IdempotencyHeaders,
      body: Type.Object({ ...Session, phoneNumber: Address, files: Type.Array(MixedItem, { minItems: 1, maxItems: MAX_MIXED }), ...Delivery }),
      response: { 202: ok(MixedAnswer), ...errors(400, 401, 404, 409, 413, 415, 422, 429) },
    },
    handler: async (request, reply) => {
      const { sessionId, phoneNumber, files, ...delivery } = request.body;
      const device = await findSendingDevice(request.em, principalOf(request), { sessionId });
      if (device.status === 'logged_out') throw new AppError('DEVICE_NOT_CONNECTED', 'The device is logged out; link it again before sending');
      const recipient = recipientOf(phoneNumber);
      const context = await contextOf(request, device);
      // Every item is checked before any is queued: an album is sent whole or refused whole.
      const contents: MediaContent[] = [];
      for (const [index, item] of files.entries()) {
        try {
          contents.push(await mediaContentOf(context, item));
        } catch (err) {
          if (err instanceof AppError) err.message = `files[${index}]: ${err.message}`;
          throw err;
        }
      }
      const idempotencyKey = (request.headers['idempotency-key'] as string | undefined) ?? delivery.clientMessageId;
      const queued = await queueMessages(
        request.em,
        {
          device: { id: device.id, userId: device.user.id, sessionId: device.sessionId },
          recipient,
          contents,
          ...(idempotencyKey ? { idempotencyKey } : {}),
          ...(delivery.sendAt ? { sendAt: new Date(delivery.sendAt) } : {}),
          ...(delivery.priority === undefined ? {} : { priority: delivery.priority }),
        },
        request.server.clock(),
      );
      if (queued.some((q) => q.replayed)) reply.header('idempotent-replayed', 'true');
      return reply.code(202).send({
        success: true,
        data: { messages: queued.map((q, i) => ({ messageId: q.messageId, fileId: contents[i]!.file.fileId, type: contents[i]!.type, status: q.status, timestamp: q.timestamp })) },
      });
    },
  });
};

export default mediaMessageRoutes;
