import { Type } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SendRouteDevice } from '../devices/devices.ts';
import { AppError } from '../domain/errors.ts';
import type { MessageContent } from '../domain/messages.ts';
import { parseRecipient, type Recipient } from '../domain/recipients.ts';
import { queueMessage } from '../messages/queue-message.ts';
import { settle, type SendAnswer, type Waiting } from './send-answers.ts';

// What every send route takes (the session, the recipient, when and how urgently) and how it queues a message.

export const Address = Type.String({ minLength: 1, maxLength: 64, description: 'A phone number in international form (with or without +), or a group JID' });

export const Delivery = {
  sendAt: Type.Optional(Type.String({ format: 'date-time', description: 'Send no earlier than this time' })),
  priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: "Higher first among the session's waiting messages (default 5)" })),
  clientMessageId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Same as an Idempotency-Key header' })),
};

export const Session = { sessionId: Type.String({ minLength: 1, maxLength: 200 }) };
export type DeliveryInput = { sendAt?: string; priority?: number; clientMessageId?: string };

export function recipientOf(address: string): Recipient {
  const recipient = parseRecipient(address);
  if (!recipient) throw new AppError('INVALID_PHONE_NUMBER', `"${address}" is not a phone number in international form or a group JID`);
  return recipient;
}

// Queues one message from the device to the recipient, answering as the client asked (send-answers.ts).
export async function accept(
  request: FastifyRequest,
  reply: FastifyReply,
  waiting: Waiting,
  device: SendRouteDevice,
  recipient: Recipient,
  content: MessageContent,
  delivery: DeliveryInput = {},
): Promise<SendAnswer> {
  if (device.status === 'logged_out') {
    throw new AppError('DEVICE_NOT_CONNECTED', 'The device is logged out; link it again (POST /api/whatsapp/devices/{id}/login) before sending');
  }
  const sendAt = delivery.sendAt ? new Date(delivery.sendAt) : undefined;
  const idempotencyKey = (request.headers['idempotency-key'] as string | undefined) ?? delivery.clientMessageId;
  const queue = () =>
    queueMessage(
      request.em,
      {
        device: { id: device.id, userId: device.user.id, sessionId: device.sessionId },
        recipient,
        content,
        ...(idempotencyKey ? { idempotencyKey } : {}),
        ...(sendAt ? { sendAt } : {}),
        ...(delivery.priority === undefined ? {} : { priority: delivery.priority }),
      },
      request.server.clock(),
    );
  return settle(request, reply, waiting, { tenantId: device.user.id, deviceId: device.id }, queue);
}
