import { Type, type Static } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { findDeviceByPhone, findSendingDevice } from '../../devices/devices.ts';
import { AppError } from '../../domain/errors.ts';
import { MAX_TEXT_LENGTH, type MessageContent } from '../../domain/messages.ts';
import { normalizePhoneNumber } from '../../domain/phone-numbers.ts';
import type { LiveFeed } from '../../events/live-feed.ts';
import { findMessage, refOf } from '../../messages/message-views.ts';
import { resendMessage } from '../../messages/queue-message.ts';
import { renderForSend } from '../../templates/business-templates.ts';
import { principalOf } from '../plugins/auth.ts';
import { TemplateReference } from '../template-schemas.ts';
import { accept, Address, Delivery, recipientOf, Session } from '../send-requests.ts';
import { acceptedResponses, answer, IdempotencyHeaders, PreferHeader, seed003, seed003Responses, settle, WaitQuery, type Waiting } from '../send-answers.ts';
import { errors, IsoDate, ok } from '../schemas.ts';

// Sending (seed 004, and seed 003's two routes on the same code). A send is accepted, not performed: the answer is
// 202 with the message id and `queued`; the status moves on in the log (SSE, WebSocket, webhooks) and at
// GET /messages/{id}/status. A client that wants seed 004's `sent` answer opts in to waiting for WhatsApp's ack
// (`?wait=sent`, `Prefer: wait=N`): 200 once acked, the failure if it fails, 202 `timedOut` if time runs out.

const Text = Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH, description: `1 to ${MAX_TEXT_LENGTH} characters` });
const MessageIdParams = Type.Object({ messageId: Type.String({ minLength: 1, maxLength: 64 }) });

const TextFields = {
  phoneNumber: Address,
  message: Type.Optional(Text),
  template: Type.Optional(TemplateReference),
  quotedMessageId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Reply to this message (one of ours, sent or received)' })),
  mentions: Type.Optional(Type.Array(Address, { maxItems: 100, description: 'Numbers to @mention' })),
  ...Delivery,
};

function textOf(text: string): string {
  if (!text.trim()) throw new AppError('VALIDATION_ERROR', 'message must not be blank');
  return text;
}

// The text itself, or the business template's (of the device's owner) with its variables filled.
async function textOrTemplate(request: FastifyRequest, ownerId: number, body: Pick<Static<typeof TextBody>, 'message' | 'template'>): Promise<string> {
  if (body.template && body.message === undefined) return renderForSend(request.em, ownerId, body.template);
  if (body.message !== undefined && !body.template) return textOf(body.message);
  throw new AppError('VALIDATION_ERROR', 'give either message or template');
}


const TextBody = Type.Object(TextFields);

async function textContent(request: FastifyRequest, ownerId: number, body: Static<typeof TextBody>): Promise<MessageContent> {
  const quoted = body.quotedMessageId ? refOf(await findMessage(request.em, principalOf(request), body.quotedMessageId)) : undefined;
  if (quoted && quoted.chatJid !== recipientOf(body.phoneNumber).jid) throw new AppError('VALIDATION_ERROR', 'quotedMessageId is a message of another chat');
  return {
    type: 'text',
    text: await textOrTemplate(request, ownerId, body),
    ...(body.mentions?.length ? { mentions: body.mentions.map((m) => recipientOf(m).jid) } : {}),
    ...(quoted ? { quoted } : {}),
  };
}

const messageRoutes: FastifyPluginAsyncTypebox<{ liveFeed: LiveFeed }> = async (app, { liveFeed }) => {
  const tags = ['messages'];
  // A wait cut short by shutdown answers 202 `timedOut` at once instead of holding up the close.
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());
  const waiting: Waiting = { liveFeed, closing: closing.signal };

  app.post('/api/whatsapp/send', {
    config: { scope: 'send', rateLimitGroup: 'sending' },
    schema: {
      tags,
      summary: 'Queue a text (a reply with quotedMessageId; @mentions); 202 with the message id',
      headers: IdempotencyHeaders,
      querystring: WaitQuery,
      body: Type.Object({ ...Session, ...TextFields }),
      response: acceptedResponses,
    },
    handler: async (request, reply) => {
      const device = await findSendingDevice(request.em, principalOf(request), { sessionId: request.body.sessionId });
      const content = await textContent(request, device.user.id, request.body);
      return answer(await accept(request, reply, waiting, device, recipientOf(request.body.phoneNumber), content, request.body));
    },
  });

  app.post('/api/whatsapp/device/send', {
    config: { auth: 'device', scope: 'send', rateLimitGroup: 'sending' },
    schema: {
      tags,
      summary: 'Queue a text from the device of the X-Device-API-Key',
      headers: IdempotencyHeaders,
      querystring: WaitQuery,
      body: TextBody,
      response: acceptedResponses,
    },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      const device = await findSendingDevice(request.em, principal, { id: principal.deviceId! });
      const content = await textContent(request, device.user.id, request.body);
      return answer(await accept(request, reply, waiting, device, recipientOf(request.body.phoneNumber), content, request.body));
    },
  });

  app.post('/api/whatsapp/send/location', {
    config: { scope: 'send', rateLimitGroup: 'sending' },
    schema: {
      tags,
      summary: 'Queue a location',
      headers: IdempotencyHeaders,
      querystring: WaitQuery,
      body: Type.Object({
        ...Session,
        phoneNumber: Address,
        latitude: Type.Number({ minimum: -90, maximum: 90 }),
        longitude: Type.Number({ minimum: -180, maximum: 180 }),
        name: Type.Optional(Type.String({ maxLength: 256 })),
        address: Type.Optional(Type.String({ maxLength: 512 })),
        ...Delivery,
      }),
      response: acceptedResponses,
    },
    handler: async (request, reply) => {
      const { sessionId, phoneNumber, latitude, longitude, name, address } = request.body;
      const device = await findSendingDevice(request.em, principalOf(request), { sessionId });
      const content: MessageContent = { type: 'location', latitude, longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) };
      return answer(await accept(request, reply, waiting, device, recipientOf(phoneNumber), content, request.body));
    },
  });

  app.post('/api/whatsapp/send/contact', {
    config: { scope: 'send', rateLimitGroup: 'sending' },
    schema: {
      tags,
      summary: 'Queue a contact card',
      headers: IdempotencyHeaders,
      querystring: WaitQuery,
      body: Type.Object({
        ...Session,
        phoneNumber: Address,
        contact: Type.Object({ name: Type.String({ minLength: 1, maxLength: 256 }), phoneNumber: Type.String({ minLength: 1, maxLength: 32 }) }),
        ...Delivery,
      }),
      response: acceptedResponses,
    },
    handler: async (request, reply) => {
      const { sessionId, phoneNumber, contact } = request.body;
      const device = await findSendingDevice(request.em, principalOf(request), { sessionId });
      const digits = normalizePhoneNumber(contact.phoneNumber);
      if (!digits) throw new AppError('INVALID_PHONE_NUMBER', `contact.phoneNumber "${contact.phoneNumber}" is not a phone number in international form`);
      const content: MessageContent = { type: 'contact', displayName: contact.name, phoneNumber: digits };
      return answer(await accept(request, reply, waiting, device, recipientOf(phoneNumber), content, request.body));
    },
  });

  // Reactions, edits and deletions go to the chat of the message they act on, from the session that has it.
  const actOn = async (request: FastifyRequest, messageId: string) => {
    const principal = principalOf(request);
    const target = await findMessage(request.em, principal, messageId);
    const ref = refOf(target);
    const device = await findSendingDevice(request.em, principal, { id: target.deviceId! });
    return { target, ref, device, recipient: recipientOf(ref.chatJid) };
  };

  app.post('/api/whatsapp/messages/:messageId/reaction', {
    config: { scope: 'send', rateLimitGroup: 'sending' },
    schema: {
      tags,
      summary: 'React to a message with an emoji (an empty emoji removes the reaction)',
      params: MessageIdParams,
      headers: IdempotencyHeaders,
      querystring: WaitQuery,
      body: Type.Object({ emoji: Type.String({ maxLength: 16 }) }),
      response: acceptedResponses,
    },
    handler: async (request, reply) => {
      const { ref, device, recipient } = await actOn(request, request.params.messageId);
      return answer(await accept(request, reply, waiting, device, recipient, { type: 'reaction', target: ref, emoji: request.body.emoji }));
    },
  });

  app.post('/api/whatsapp/messages/:messageId/edit', {
    config: { scope: 'send', rateLimitGroup: 'sending' },
    schema: {
      tags,
      summary: 'Edit the text of a message we sent',
      params: MessageIdParams,
      headers: IdempotencyHeaders,
      querystring: WaitQuery,
      body: Type.Object({ message: Text }),
      response: acceptedResponses,
    },
    handler: async (request, reply) => {
      const { target, ref, device, recipient } = await actOn(request, request.params.messageId);
      if (target.direction !== 'out') throw new AppError('VALIDATION_ERROR', 'Only messages we sent can be edited');
      return answer(await accept(request, reply, waiting, device, recipient, { type: 'edit', target: ref, text: textOf(request.body.message) }));
    },
  });

  app.delete('/api/whatsapp/messages/:messageId', {
    config: { scope: 'send', rateLimitGroup: 'sending' },
    schema: {
      tags,
      summary: 'Delete a message we sent, for everyone',
      params: MessageIdParams,
      headers: IdempotencyHeaders,
      querystring: WaitQuery,
      response: acceptedResponses,
    },
    handler: async (request, reply) => {
      const { target, ref, device, recipient } = await actOn(request, request.params.messageId);
      if (target.direction !== 'out') throw new AppError('VALIDATION_ERROR', 'Only messages we sent can be deleted for everyone');
      return answer(await accept(request, reply, waiting, device, recipient, { type: 'delete', target: ref }));
    },
  });

  app.get('/api/whatsapp/messages/:messageId/status', {
    config: { auth: 'any', scope: 'read' },
    schema: {
      tags,
      summary: "A message's status and when it reached each step",
      params: MessageIdParams,
      response: {
        200: ok(
          Type.Object({
            messageId: Type.String(),
            status: Type.String({ description: 'queued, sent, delivered, read, played, failed or received' }),
            sentAt: Type.Union([IsoDate, Type.Null()]),
            deliveredAt: Type.Union([IsoDate, Type.Null()]),
            readAt: Type.Union([IsoDate, Type.Null()]),
            playedAt: Type.Union([IsoDate, Type.Null()]),
            failedAt: Type.Union([IsoDate, Type.Null()]),
            error: Type.Union([Type.String(), Type.Null()]),
            heldReason: Type.Union([Type.String({ description: 'Why the send policy keeps a queued message waiting (GET /devices/{id}/send-policy)' }), Type.Null()]),
            fileId: Type.Union([Type.String({ description: "A media message's file" }), Type.Null()]),
          }),
        ),
        ...errors(401, 404, 429),
      },
    },
    handler: async (request) => {
      const m = await findMessage(request.em, principalOf(request), request.params.messageId);
      return {
        success: true,
        data: { messageId: m.messageId, status: m.status, sentAt: m.sentAt, deliveredAt: m.deliveredAt, readAt: m.readAt, playedAt: m.playedAt, failedAt: m.failedAt, error: m.error, heldReason: m.heldReason, fileId: m.fileId },
      } as const;
    },
  });

  app.post('/api/whatsapp/messages/:messageId/resend', {
    config: { auth: 'any', scope: 'send', rateLimitGroup: 'sending' },
    schema: {
      tags,
      summary: 'Queue a failed message again (same id)',
      params: MessageIdParams,
      headers: Type.Object(PreferHeader),
      querystring: WaitQuery,
      response: acceptedResponses,
    },
    handler: async (request, reply) => {
      const message = await findMessage(request.em, principalOf(request), request.params.messageId);
      const device = { tenantId: message.tenantId, ...(message.deviceId === null ? {} : { deviceId: message.deviceId }) };
      return answer(await settle(request, reply, waiting, device, () => resendMessage(request.em, message.messageId, request.server.clock())));
    },
  });

  // Seed 003.
  const Seed003Body = { recipient: Address, message: Text };

  app.post('/api/sessions/:id/send', {
    config: { scope: 'send', rateLimitGroup: 'sending' },
    schema: {
      tags: ['sessions (seed 003)'],
      summary: 'Queue a text from this session',
      params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
      headers: IdempotencyHeaders,
      querystring: WaitQuery,
      body: Type.Object(Seed003Body),
      response: seed003Responses,
    },
    handler: async (request, reply) => {
      const device = await findSendingDevice(request.em, principalOf(request), { id: request.params.id });
      return seed003(await accept(request, reply, waiting, device, recipientOf(request.body.recipient), { type: 'text', text: textOf(request.body.message) }));
    },
  });

  app.post('/api/send', {
    config: { scope: 'send', rateLimitGroup: 'sending' },
    schema: {
      tags: ['sessions (seed 003)'],
      summary: 'Queue a text from the session with this phone number',
      headers: IdempotencyHeaders,
      querystring: WaitQuery,
      body: Type.Object({ phone: Type.String({ minLength: 1, maxLength: 32, description: 'The number of one of your sessions' }), ...Seed003Body }),
      response: seed003Responses,
    },
    handler: async (request, reply) => {
      const digits = normalizePhoneNumber(request.body.phone);
      if (!digits) throw new AppError('INVALID_PHONE_NUMBER', `phone "${request.body.phone}" is not a phone number in international form`);
      const device = await findDeviceByPhone(request.em, principalOf(request), digits);
      return seed003(await accept(request, reply, waiting, device, recipientOf(request.body.recipient), { type: 'text', text: textOf(request.body.message) }));
    },
  });
};

export default messageRoutes;
