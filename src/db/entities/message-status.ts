import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

// Read model, written only by the message-status projection (src/events/projections/message-status.ts).
export const MessageStatusSchema = defineEntity({
  name: 'MessageStatusView',
  tableName: 'message_status',
  properties: {
    messageId: p.string().length(64).primary(),
    tenantId: p.integer().index(),
    deviceId: p.integer().nullable(),
    status: p.string().length(16),
    waMessageId: p.string().length(128).nullable(),
    error: p.text().nullable(),
    queuedAt: p.datetime().nullable(),
    sentAt: p.datetime().nullable(),
    deliveredAt: p.datetime().nullable(),
    readAt: p.datetime().nullable(),
    playedAt: p.datetime().nullable(),
    failedAt: p.datetime().nullable(),
    receivedAt: p.datetime().nullable(),
    updatedAt: p.datetime(),
  },
});

export type MessageStatusView = InferEntity<typeof MessageStatusSchema>;
