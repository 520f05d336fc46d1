import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const DELIVERY_STATUSES = ['retrying', 'delivered', 'failed', 'redelivering'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

// Read model, written only by the webhook-deliveries projection from `webhook.*` events: one delivery of one event
// to one endpoint, and every attempt at it. `failed` deliveries (retries exhausted or abandoned) are the dead letters.
export const WebhookDeliverySchema = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_deliveries',
  indexes: [{ properties: ['endpointId', 'lastAttemptAt'] }, { properties: ['tenantId', 'status'] }],
  properties: {
    id: p.string().length(40).primary(),
    endpointId: p.string().length(40),
    tenantId: p.integer(),
    eventId: p.uuid(),
    eventPosition: p.bigint('number'),
    eventType: p.string().length(100),
    status: p.enum(DELIVERY_STATUSES),
    attempts: p.integer().default(0),
    lastStatusCode: p.integer().nullable(),
    lastError: p.text().nullable(),
    lastAttemptAt: p.datetime().nullable(),
    nextAttemptAt: p.datetime().nullable(),
    deliveredAt: p.datetime().nullable(),
    createdAt: p.datetime(),
  },
});

export const WebhookAttemptSchema = defineEntity({
  name: 'WebhookAttempt',
  tableName: 'webhook_attempts',
  properties: {
    deliveryId: p.string().length(40).primary(),
    // Counted across redeliveries, so each attempt keeps its own row.
    number: p.integer().primary(),
    at: p.datetime(),
    outcome: p.string().length(20),
    statusCode: p.integer().nullable(),
    latencyMs: p.integer(),
    responseSnippet: p.text().nullable(),
    error: p.text().nullable(),
  },
});

export type WebhookDelivery = InferEntity<typeof WebhookDeliverySchema>;
export type WebhookAttempt = InferEntity<typeof WebhookAttemptSchema>;
