import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { DeviceSchema } from './device.ts';
import { UserSchema } from './user.ts';

// Where a user wants events delivered: configuration, not a read model. `kind` says which API manages it (the
// webhooks API, seed 004's per-device settings, or seed 003's session `webhook_url`); `format` which payload
// shape it receives.
export const WEBHOOK_KINDS = ['endpoint', 'device-settings', 'session'] as const;
export const WEBHOOK_FORMATS = ['standard', 'seed003'] as const;

export const WebhookEndpointSchema = defineEntity({
  name: 'WebhookEndpoint',
  tableName: 'webhook_endpoints',
  properties: {
    id: p.string().length(40).primary(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
    // Only this device's events when set; all of the user's otherwise.
    device: () => p.manyToOne(DeviceSchema).deleteRule('cascade').nullable().index(),
    kind: p.enum(WEBHOOK_KINDS).default('endpoint'),
    format: p.enum(WEBHOOK_FORMATS).default('standard'),
    url: p.string().length(2048),
    description: p.string().length(200).nullable(),
    // `*`, exact names (`message`, `message.received`) or prefixes (`message.*`).
    events: p.json<string[]>().default('["*"]'),
    // Custom headers: name → value sealed under ENCRYPTION_KEY, bound to the endpoint's id and the name.
    sealedHeaders: p.json<Record<string, string>>().default('{}'),
    // Headers written in plain text before values were sealed; sealed at start-up (src/webhooks/headers.ts), then
    // null. Nothing writes it any more.
    plainHeaders: p.json<Record<string, string>>().fieldName('headers').nullable(),
    // Sealed under ENCRYPTION_KEY, bound to the endpoint's id.
    secret: p.text(),
    previousSecret: p.text().nullable(),
    previousSecretUntil: p.datetime().nullable(),
    enabled: p.boolean().default(true),
    disabledReason: p.string().length(500).nullable(),
    disabledAt: p.datetime().nullable(),
    retryOnFailure: p.boolean().default(true),
    // Retries after the first attempt; null: the whole configured schedule.
    maxRetries: p.integer().nullable(),
    // Requests per second to this endpoint, across all workers; null: no limit beyond the concurrency.
    rateLimit: p.integer().nullable(),
    // Received media's bytes in the payload (base64, up to 5 MiB) beside the signed link.
    inlineMedia: p.boolean().default(false),
    // When the current run of failures began (null after a success); too long a run disables the endpoint.
    failingSince: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

export type WebhookEndpoint = InferEntity<typeof WebhookEndpointSchema>;
