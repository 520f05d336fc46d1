import type { EntityManager } from '@mikro-orm/postgresql';
import { reachesDevice, type Clock, type Principal } from '../auth/context.ts';
import type { Config } from '../config.ts';
import type { Device } from '../db/entities/device.ts';
import { WebhookEndpointSchema, type WebhookEndpoint } from '../db/entities/webhook-endpoint.ts';
import { AppError } from '../domain/errors.ts';
import { streamOf, type DomainEvent } from '../domain/events.ts';
import { recordAudit, type AuditSource } from '../auth/audit.ts';
import type { CacheInvalidation } from '../coordination/cache-invalidation.ts';
import { newEndpointId, newWebhookSecret } from '../domain/webhooks.ts';
import { appendToStream } from '../events/event-store.ts';
import { open, seal } from '../secret-box.ts';
import { findDevice, resolveUser } from '../devices/devices.ts';
import { checkWebhookUrl } from './destinations.ts';
import { checkHeaders, maskedHeaders, sealHeaders } from './headers.ts';
import { transaction } from '../db/transactions.ts';

// Webhook endpoints as the API manages them: each belongs to a user and optionally to one of their devices. The
// secret is sealed at rest (a stolen database must not let anyone forge our signatures) and shown only when it is
// created or rotated; custom header values are sealed too (src/webhooks/headers.ts) and never shown.

export interface WebhookContext {
  em: EntityManager;
  config: Pick<Config, 'encryptionKey' | 'webhooks'>;
  clock: Clock;
  // Who is acting, for the audit trail of endpoint changes.
  audit?: AuditSource;
  // Delivery workers keep endpoints in memory: a change is announced once committed, and in force when answered.
  invalidation?: CacheInvalidation;
}

export interface EndpointInput {
  url?: string;
  events?: string[];
  deviceId?: number | null;
  headers?: Record<string, string>;
  secret?: string;
  enabled?: boolean;
  description?: string | null;
  retryOnFailure?: boolean;
  maxRetries?: number | null;
  rateLimit?: number | null;
  inlineMedia?: boolean;
}

const sealSecret = (ctx: WebhookContext, id: string, secret: string) => seal(ctx.config.encryptionKey, secret, `webhook-endpoint-${id}`);

// The secrets a request is signed with now: the current one, and the rotated-out one during its grace period.
export function liveSecrets(endpoint: WebhookEndpoint, key: Buffer, now: Date): string[] {
  const associated = `webhook-endpoint-${endpoint.id}`;
  const secrets = [open(key, endpoint.secret, associated)];
  if (endpoint.previousSecret && endpoint.previousSecretUntil && endpoint.previousSecretUntil > now) {
    secrets.push(open(key, endpoint.previousSecret, associated));
  }
  return secrets;
}

export async function findEndpoint(em: EntityManager, principal: Principal, id: string): Promise<WebhookEndpoint> {
  const endpoint = await em.findOne(WebhookEndpointSchema, { id });
  // A bound credential sees the endpoints of its devices only (not the user-wide ones, which hear every device).
  const reached = endpoint && (principal.role === 'admin' || endpoint.user.id === principal.userId) && reachesDevice(principal, endpoint.device?.id);
  if (!reached) throw new AppError('WEBHOOK_NOT_FOUND', `Webhook ${id} not found`);
  return endpoint;
}

export async function createEndpoint(
  ctx: WebhookContext,
  principal: Principal,
  input: EndpointInput & { url: string; userId?: string | number },
  { kind = 'endpoint', format = 'standard', device }: { kind?: WebhookEndpoint['kind']; format?: WebhookEndpoint['format']; device?: Device } = {},
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  await checkWebhookUrl(input.url, ctx.config.webhooks.allowPrivate);
  checkHeaders(input.headers ?? {});
  const owner = device?.user ?? (await resolveUser(ctx.em, principal, input.userId));
  const scope = device ?? (input.deviceId ? await findDevice(ctx.em, principal, input.deviceId) : undefined);
  if (scope && scope.user.id !== owner.id) throw new AppError('DEVICE_NOT_FOUND', `Device ${scope.id} not found`);
  if (!scope && principal.deviceIds !== undefined) {
    throw new AppError('VALIDATION_ERROR', 'This token is bound to devices: name one of them in deviceId (a user-wide webhook hears every device)', [
      { field: 'deviceId', message: 'required for a token bound to devices' },
    ]);
  }
  const id = newEndpointId();
  const secret = input.secret ?? newWebhookSecret();
  const now = ctx.clock();
  const endpoint = ctx.em.create(WebhookEndpointSchema, {
    id,
    user: owner,
    device: scope ?? null,
    kind,
    format,
    url: input.url,
    description: input.description ?? null,
    events: input.events ?? ['*'],
    sealedHeaders: sealHeaders(ctx.config.encryptionKey, id, input.headers ?? {}),
    secret: sealSecret(ctx, id, secret),
    enabled: input.enabled ?? true,
    retryOnFailure: input.retryOnFailure ?? true,
    maxRetries: input.maxRetries ?? null,
    rateLimit: input.rateLimit ?? null,
    inlineMedia: input.inlineMedia ?? false,
    createdAt: now,
    updatedAt: now,
  });
  // The URL's host only: receivers' URLs often carry a token of theirs.
  const data = { endpointId: id, userId: owner.id, host: new URL(input.url).host, ...(scope ? { deviceId: scope.id } : {}) };
  await transaction(ctx.em, (tx) => recordAudit(tx, streamOf.webhookEndpoint(id), [{ type: 'webhook.endpoint-created', data }], ctx.audit));
  return { endpoint, secret };
}

// Applies a partial update. Re-enabling clears the failure record and returns when it had been disabled, so the
// caller can replay what it missed.
export async function updateEndpoint(ctx: WebhookContext, endpoint: WebhookEndpoint, input: EndpointInput): Promise<{ disabledAt?: Date }> {
  if (input.url !== undefined) {
    await checkWebhookUrl(input.url, ctx.config.webhooks.allowPrivate);
    endpoint.url = input.url;
  }
  if (input.headers !== undefined) {
    checkHeaders(input.headers);
    endpoint.sealedHeaders = sealHeaders(ctx.config.encryptionKey, endpoint.id, input.headers);
    // A row not sealed yet must not have its old values sealed over the new ones.
    endpoint.plainHeaders = null;
  }
  if (input.events !== undefined) endpoint.events = input.events;
  if (input.description !== undefined) endpoint.description = input.description;
  if (input.retryOnFailure !== undefined) endpoint.retryOnFailure = input.retryOnFailure;
  if (input.maxRetries !== undefined) endpoint.maxRetries = input.maxRetries;
  if (input.rateLimit !== undefined) endpoint.rateLimit = input.rateLimit;
  if (input.inlineMedia !== undefined) endpoint.inlineMedia = input.inlineMedia;
  if (input.secret !== undefined) rotateTo(ctx, endpoint, input.secret);
  const wasDisabledAt = !endpoint.enabled ? (endpoint.disabledAt ?? endpoint.updatedAt) : undefined;
  if (input.enabled !== undefined && input.enabled !== endpoint.enabled) {
    endpoint.enabled = input.enabled;
    endpoint.failingSince = null;
    endpoint.disabledReason = input.enabled ? null : 'disabled by its owner';
    endpoint.disabledAt = input.enabled ? null : ctx.clock();
  }
  endpoint.updatedAt = ctx.clock();
  const reenabled = input.enabled === true && wasDisabledAt !== undefined;
  // The change and its event commit together.
  const fields = Object.entries(input).flatMap(([field, value]) => (value === undefined ? [] : [field]));
  await transaction(ctx.em, async (tx) => {
    const audited: DomainEvent[] = fields.length ? [{ type: 'webhook.endpoint-updated', data: { endpointId: endpoint.id, fields } }] : [];
    if (input.secret !== undefined) audited.push({ type: 'webhook.secret-rotated', data: { endpointId: endpoint.id } });
    await recordAudit(tx, streamOf.webhookEndpoint(endpoint.id), audited, ctx.audit);
    if (!reenabled) return;
    await appendToStream(tx as EntityManager, streamOf.webhookEndpoint(endpoint.id), [{ event: { type: 'webhook.endpoint-enabled', data: { endpointId: endpoint.id } } }], {
      expectedVersion: 'any',
      metadata: { tenantId: endpoint.user.id, ...(endpoint.device ? { deviceId: endpoint.device.id } : {}) },
    });
  });
  await ctx.invalidation?.announce();
  return reenabled ? { disabledAt: wasDisabledAt } : {};
}

// The new secret signs from now on; the old one signs beside it until the grace period ends.
function rotateTo(ctx: WebhookContext, endpoint: WebhookEndpoint, secret: string): void {
  endpoint.previousSecret = endpoint.secret;
  endpoint.previousSecretUntil = new Date(ctx.clock().getTime() + ctx.config.webhooks.secretGraceMs);
  endpoint.secret = sealSecret(ctx, endpoint.id, secret);
}

export async function rotateSecret(ctx: WebhookContext, endpoint: WebhookEndpoint): Promise<string> {
  const secret = newWebhookSecret();
  rotateTo(ctx, endpoint, secret);
  endpoint.updatedAt = ctx.clock();
  await transaction(ctx.em, (tx) =>
    recordAudit(tx, streamOf.webhookEndpoint(endpoint.id), [{ type: 'webhook.secret-rotated', data: { endpointId: endpoint.id } }], ctx.audit),
  );
  await ctx.invalidation?.announce();
  return secret;
}

export async function deleteEndpoint(ctx: WebhookContext, endpoint: WebhookEndpoint): Promise<void> {
  await transaction(ctx.em, async (tx) => {
    await tx.remove(tx.getReference(WebhookEndpointSchema, endpoint.id)).flush();
    await recordAudit(tx, streamOf.webhookEndpoint(endpoint.id), [{ type: 'webhook.endpoint-deleted', data: { endpointId: endpoint.id } }], ctx.audit);
  });
  await ctx.invalidation?.announce();
}

// Disabled by the platform (410 Gone, or failing for too long), with the reason on the endpoint and, in the same
// transaction, in the log.
export async function disableEndpoint(em: EntityManager, endpoint: WebhookEndpoint, reason: string, now: Date, invalidation?: CacheInvalidation): Promise<void> {
  const disabled = await transaction(em, async (tx) => {
    const updated = await tx.nativeUpdate(
      WebhookEndpointSchema,
      { id: endpoint.id, enabled: true },
      { enabled: false, disabledReason: reason, disabledAt: now, updatedAt: now },
    );
    if (!updated) return false;
    await appendToStream(tx as EntityManager, streamOf.webhookEndpoint(endpoint.id), [{ event: { type: 'webhook.endpoint-disabled', data: { endpointId: endpoint.id, reason } } }], {
      expectedVersion: 'any',
      metadata: { tenantId: endpoint.user.id, ...(endpoint.device ? { deviceId: endpoint.device.id } : {}) },
    });
    return true;
  });
  if (disabled) await invalidation?.announce();
}

// Seed 004's per-device settings and seed 003's `webhook_url` are each one endpoint of the device's, of their kind.
export async function deviceEndpoint(em: EntityManager, device: Device, kind: 'device-settings' | 'session'): Promise<WebhookEndpoint | null> {
  return em.findOne(WebhookEndpointSchema, { device: device.id, kind });
}

export function endpointView(endpoint: WebhookEndpoint) {
  return {
    id: endpoint.id,
    userId: endpoint.user.id,
    deviceId: endpoint.device?.id ?? null,
    kind: endpoint.kind,
    format: endpoint.format,
    url: endpoint.url,
    description: endpoint.description ?? null,
    events: endpoint.events,
    headers: maskedHeaders(endpoint),
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason ?? null,
    disabledAt: endpoint.disabledAt?.toISOString() ?? null,
    retryOnFailure: endpoint.retryOnFailure,
    maxRetries: endpoint.maxRetries ?? null,
    rateLimit: endpoint.rateLimit ?? null,
    inlineMedia: endpoint.inlineMedia,
    failingSince: endpoint.failingSince?.toISOString() ?? null,
    secretRotatedUntil: endpoint.previousSecretUntil?.toISOString() ?? null,
    createdAt: endpoint.createdAt.toISOString(),
    updatedAt: endpoint.updatedAt.toISOString(),
  };
}
