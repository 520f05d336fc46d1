import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { findDevice, resolveUser } from '../../devices/devices.ts';
import { AppError } from '../../domain/errors.ts';
import { parseRecipient } from '../../domain/recipients.ts';
import { chatHistory, chatsOf, messageLogs, sendingStats, type MessageRow, type Page } from '../../messages/message-views.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IsoDate, Nullable, ok, Paging, UserParams } from '../schemas.ts';

// Reading messages back (seed 004): a chat's history, a user's message logs, sending statistics — all from the
// messages read model, newest first, with cursor pagination.

const MessageView = Type.Object({
  messageId: Type.String(),
  deviceId: Nullable(Type.Integer()),
  direction: Type.Union([Type.Literal('out'), Type.Literal('in')]),
  chatJid: Nullable(Type.String()),
  from: Nullable(Type.String({ description: 'Who sent a received message (phone-number JID when known)' })),
  fromLid: Nullable(Type.String()),
  type: Nullable(Type.String()),
  body: Nullable(Type.String({ description: 'The text, or a media message\'s caption (a document\'s name without one)' })),
  fileId: Nullable(Type.String({ description: 'A media message\'s file (GET /api/whatsapp/files/{fileId})' })),
  status: Type.String(),
  waMessageId: Nullable(Type.String()),
  error: Nullable(Type.String()),
  heldReason: Nullable(Type.String({ description: 'Why the send policy keeps a queued message waiting' })),
  timestamp: Nullable(IsoDate),
  sentAt: Nullable(IsoDate),
  deliveredAt: Nullable(IsoDate),
  readAt: Nullable(IsoDate),
});

function present(page: Page<MessageRow>) {
  return {
    success: true,
    data: {
      items: page.items.map((m) => ({
        messageId: m.messageId,
        deviceId: m.deviceId,
        direction: m.direction,
        chatJid: m.chatJid,
        from: m.sender,
        fromLid: m.senderLid,
        type: m.contentType,
        body: m.body,
        fileId: m.fileId,
        status: m.status,
        waMessageId: m.waMessageId,
        error: m.error,
        heldReason: m.heldReason,
        timestamp: m.createdAt,
        sentAt: m.sentAt,
        deliveredAt: m.deliveredAt,
        readAt: m.readAt,
      })),
      nextCursor: page.nextCursor,
    },
  } as const;
}

const PageOfMessages = ok(Type.Object({ items: Type.Array(MessageView), nextCursor: Nullable(Type.String()) }));

const messageHistoryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['messages'];

  app.get('/api/whatsapp/devices/:id/messages/:jid', {
    config: { auth: 'any', scope: 'read' },
    schema: {
      tags,
      summary: "One chat's messages, both directions (the contact as a phone number, a JID or a LID)",
      params: Type.Object({ id: Type.Integer({ minimum: 1 }), jid: Type.String({ minLength: 1, maxLength: 128 }) }),
      querystring: Type.Object(Paging),
      response: { 200: PageOfMessages, ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      const chat = parseRecipient(request.params.jid);
      if (!chat) throw new AppError('INVALID_PHONE_NUMBER', `"${request.params.jid}" is not a phone number, a JID or a LID`);
      return present(await chatHistory(request.em, device.id, chat.jid, request.query.limit, request.query.cursor));
    },
  });

  app.get('/api/whatsapp/devices/:id/chats', {
    config: { auth: 'any', scope: 'read' },
    schema: {
      tags,
      summary: "The device's chats, most recently active first, with their last message",
      params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
      querystring: Type.Object({ limit: Paging.limit }),
      response: {
        200: ok(
          Type.Array(
            Type.Object({
              chatJid: Type.String(),
              isGroup: Type.Boolean(),
              messages: Type.Integer(),
              lastMessageAt: IsoDate,
              lastMessage: Type.Object({ messageId: Type.String(), direction: Type.String(), body: Nullable(Type.String()), status: Type.String() }),
            }),
          ),
        ),
        ...errors(401, 404, 429),
      },
    },
    handler: async (request) => {
      const device = await findDevice(request.em, principalOf(request), request.params.id);
      return { success: true, data: await chatsOf(request.em, device.id, request.query.limit) } as const;
    },
  });

  app.get('/api/whatsapp/users/:userId/message-logs', {
    config: { scope: 'read' },
    schema: {
      tags,
      summary: "A user's messages across devices, newest first",
      params: UserParams,
      querystring: Type.Object({
        ...Paging,
        status: Type.Optional(Type.Union(['queued', 'sent', 'delivered', 'read', 'played', 'failed', 'received'].map((s) => Type.Literal(s)))),
        deviceId: Type.Optional(Type.Integer({ minimum: 1 })),
      }),
      response: { 200: PageOfMessages, ...errors(400, 401, 404, 429) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      const user = await resolveUser(request.em, principal, request.params.userId);
      const { status, deviceId, limit, cursor } = request.query;
      const filter = { ...(status ? { status } : {}), ...(deviceId ? { deviceId } : {}), ...(principal.deviceIds ? { deviceIds: principal.deviceIds } : {}) };
      return present(await messageLogs(request.em, user.id, filter, limit, cursor));
    },
  });

  const Counts = Type.Object({ sent: Type.Integer(), failed: Type.Integer() });
  app.get('/api/whatsapp/users/:userId/sending-stats', {
    config: { scope: 'read' },
    schema: {
      tags,
      summary: 'Sending statistics: totals, today, the last 7 days, and how many messages reached each status',
      params: UserParams,
      response: {
        200: ok(
          Type.Object({
            totalSent: Type.Integer(),
            totalFailed: Type.Integer(),
            successRate: Type.Number({ description: 'Percent of finished sends that reached WhatsApp' }),
            today: Counts,
            thisWeek: Counts,
            byStatus: Type.Record(Type.String(), Type.Integer()),
          }),
        ),
        ...errors(401, 404, 429),
      },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      const user = await resolveUser(request.em, principal, request.params.userId);
      return { success: true, data: await sendingStats(request.em, user.id, request.server.clock(), principal.deviceIds) } as const;
    },
  });
};

export default messageHistoryRoutes;
