import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

// Read model, written only by the message-stats projection: per user, device (0: none) and UTC day, how many
// messages reached each status.
export const MessageStatsSchema = defineEntity({
  name: 'MessageStatsDaily',
  tableName: 'message_stats_daily',
  properties: {
    tenantId: p.integer().primary(),
    deviceId: p.integer().primary(),
    day: p.string().length(10).primary(),
    queued: p.integer().default(0),
    sent: p.integer().default(0),
    delivered: p.integer().default(0),
    read: p.integer().default(0),
    played: p.integer().default(0),
    failed: p.integer().default(0),
    cancelled: p.integer().default(0),
    received: p.integer().default(0),
  },
});

export type MessageStatsDaily = InferEntity<typeof MessageStatsSchema>;
