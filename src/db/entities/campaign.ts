import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const CAMPAIGN_STATES = ['running', 'paused', 'cancelled', 'completed'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

// Read model, written only by the campaigns projection from `campaign.*` events: a bulk send and its state. How far
// its messages got is counted from message_status (by campaign_id) when asked.
export const CampaignSchema = defineEntity({
  name: 'Campaign',
  tableName: 'campaigns',
  properties: {
    id: p.string().length(64).primary(),
    tenantId: p.integer().index(),
    deviceId: p.integer(),
    name: p.string().length(200).nullable(),
    state: p.enum(CAMPAIGN_STATES).default('running'),
    total: p.integer(),
    accepted: p.integer(),
    // Rows refused at creation: `{index, phoneNumber, error}`.
    rejected: p.json<{ index: number; phoneNumber: string; error: string }[]>().default('[]'),
    createdAt: p.datetime(),
    completedAt: p.datetime().nullable(),
  },
});

export type Campaign = InferEntity<typeof CampaignSchema>;
