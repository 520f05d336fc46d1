import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

// Read model, written only by the messages projection (src/events/projections/messages.ts): one row per message
// sent or received, with its status history — the source of status, logs and chat history.
export const MessageStatusSchema = defineEntity({
  name: 'MessageStatusView',
  tableName: 'message_status',
  indexes: [
    { properties: ['deviceId', 'chatJid', 'createdAt'] },
    { properties: ['tenantId', 'createdAt'] },
    { properties: ['deviceId', 'waMessageId'] },
    { properties: ['campaignId', 'status'] },
  ],
  properties: {
    messageId: p.string().length(64).primary(),
    tenantId: p.integer().index(),
    deviceId: p.integer().nullable(),
    status: p.string().length(16),
    // `out`: sent through us; `in`: received.
    direction: p.string().length(3).default('out'),
    chatJid: p.string().length(128).nullable(),
    // Who sent a received message (phone-number JID when known) and its LID.
    sender: p.string().length(128).nullable(),
    senderLid: p.string().length(128).nullable(),
    contentType: p.string().length(48).nullable(),
    // The text shown in history (a caption, a location's name…); the full content stays in the log.
    body: p.text().nullable(),
    // The file a media message carried (sent or received).
    fileId: p.string().length(64).nullable(),
    createdAt: p.datetime().nullable(),
    campaignId: p.string().length(64).nullable(),
    waMessageId: p.string().length(128).nullable(),
    error: p.text().nullable(),
    queuedAt: p.datetime().nullable(),
    sentAt: p.datetime().nullable(),
    deliveredAt: p.datetime().nullable(),
    readAt: p.datetime().nullable(),
    playedAt: p.datetime().nullable(),
    failedAt: p.datetime().nullable(),
    cancelledAt: p.datetime().nullable(),
    receivedAt: p.datetime().nullable(),
    updatedAt: p.datetime(),
  },
});

export type MessageStatusView = InferEntity<typeof MessageStatusSchema>;
