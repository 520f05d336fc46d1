import { DelayedError, type Job } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../../auth/context.ts';
import type { WebhookSettings } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import { DeviceSchema } from '../../db/entities/device.ts';
import { WebhookEndpointSchema, type WebhookEndpoint } from '../../db/entities/webhook-endpoint.ts';
import { streamOf, type EventPayloads } from '../../domain/events.ts';
import { attemptsAllowed, parseRetryAfter, publicNameOf, retryDelayMs } from '../../domain/webhooks.ts';
import { eventIdOf } from '../../events/event-ids.ts';
import { appendToStream, readStream, type RecordedEvent } from '../../events/event-store.ts';
import { disableEndpoint, liveSecrets } from '../../webhooks/endpoints.ts';
import { openHeaders } from '../../webhooks/headers.ts';
import { seed003Payload, standardPayload, type FileLinks, type PayloadDevice } from '../../webhooks/payloads.ts';
import type { MediaInliner } from '../../files/inline-media.ts';
import type { PostOutcome, WebhookPoster } from '../../webhooks/post.ts';
import { signatureHeaders } from '../../webhooks/signatures.ts';
import type { EndpointGate } from './endpoint-gate.ts';
import { InvalidatedCache, type CacheInvalidation } from '../../coordination/cache-invalidation.ts';

// One delivery job: one event to one endpoint. The delivery's own stream is its memory (how many attempts so far,
// whether one succeeded), so a job that runs again after a crash picks up where the log says it stood; retries wait
// as the same job, delayed. A request sent but not recorded (the worker died mid-request) is sent again, under the
// same `webhook-id`: delivery is at least once, and receivers de-duplicate by that id.

export interface DeliveryJobData {
  deliveryId: string;
  endpointId: string;
  // The event as the log holds it (its time as ISO 8601), so the job needs no read of the log to build the body.
  event: Omit<RecordedEvent, 'recordedAt'> & { recordedAt: string };
}

export const jobEventOf = (event: RecordedEvent): DeliveryJobData['event'] => ({ ...event, recordedAt: event.recordedAt.toISOString() });

export interface DeliveryDeps {
  orm: Orm;
  poster: WebhookPoster;
  gate: EndpointGate;
  settings: WebhookSettings;
  encryptionKey: Buffer;
  clock: Clock;
  // Signed at delivery time, so a retried delivery carries a link that is still valid.
  fileLinks: FileLinks;
  inlineMedia: MediaInliner;
  invalidation: CacheInvalidation;
}

// When the endpoint is at its limit, the job waits this long (plus jitter) for a slot.
const GATE_WAIT_MS = 200;

type Attempted = EventPayloads['webhook.attempted'];

// What the delivery's stream says: attempts so far, attempts since the last redelivery request, and whether the
// current round already ended (delivered, or failed for good).
function standing(history: RecordedEvent[]) {
  let attempts = 0;
  let round = 0;
  let ended = false;
  for (const event of history) {
    if (event.type === 'webhook.attempted') {
      attempts += 1;
      round += 1;
      ended = (event.data as Attempted).outcome !== 'retrying';
    } else if (event.type === 'webhook.redelivery-requested') {
      round = 0;
      ended = false;
    } else if (event.type === 'webhook.delivery-abandoned') {
      ended = true;
    }
  }
  return { attempts, round, ended };
}

// Devices change rarely and every delivery of their events needs them: each process keeps them for a moment (a
// payload may show metadata a second or two old). Endpoints are kept longer, since every change to one is announced
// (src/webhooks/endpoints.ts) and answered only once every process forgot it: a disable, a URL change or a rotated
// secret still applies to the very next request. The age bounds what a write outside those functions could leave.
const DEVICE_CACHE_MS = 2000;
const ENDPOINT_CACHE_MS = 30_000;

class ShortCache<K, V> {
  readonly #entries = new Map<K, { value: V; until: number }>();
  async get(key: K, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.#entries.get(key);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = await load();
    if (value === undefined) this.#entries.delete(key);
    else this.#entries.set(key, { value, until: Date.now() + DEVICE_CACHE_MS });
    return value;
  }
}

// Opening sealed secrets on every request is wasted work: they are kept by their sealed form (a rotation changes it).
class OpenedSecrets {
  readonly #opened = new Map<string, string[]>();
  of(endpoint: WebhookEndpoint, key: Buffer, now: Date): string[] {
    const live = endpoint.previousSecretUntil && endpoint.previousSecretUntil > now;
    const sealed = `${endpoint.secret}|${live ? endpoint.previousSecret : ''}`;
    let secrets = this.#opened.get(sealed);
    if (!secrets) {
      if (this.#opened.size >= 10_000) this.#opened.clear();
      secrets = liveSecrets(endpoint, key, now);
      this.#opened.set(sealed, secrets);
    }
    return secrets;
  }
}

async function payloadDevice(em: EntityManager, deviceId: number): Promise<PayloadDevice | undefined> {
  const device = await em.findOne(DeviceSchema, { id: deviceId }, { fields: ['id', 'sessionId', 'alias', 'phoneNumber', 'metadata'] });
  return device ? { id: device.id, sessionId: device.sessionId, alias: device.alias, phoneNumber: device.phoneNumber ?? null, metadata: device.metadata } : undefined;
}

async function payloadOf(endpoint: WebhookEndpoint, event: RecordedEvent, device: PayloadDevice | undefined, links: FileLinks, inline?: object): Promise<Record<string, unknown> | undefined> {
  if (endpoint.format === 'seed003') return seed003Payload(event, device);
  const payload = await standardPayload(event, device, links);
  const media = (payload.data as { media?: Record<string, unknown> }).media;
  if (media && inline) Object.assign(media, inline);
  return payload;
}

// The bytes an endpoint asked for, fetched before it takes one of the endpoint's slots (they may take a while).
const receivedFileOf = (endpoint: WebhookEndpoint, event: RecordedEvent) =>
  endpoint.inlineMedia && endpoint.format !== 'seed003' ? ((event.data.media as { fileId?: string } | undefined)?.fileId ?? undefined) : undefined;

export function deliveryProcessor({ orm, poster, gate, settings, encryptionKey, clock, fileLinks, inlineMedia, invalidation }: DeliveryDeps) {
  const devices = new ShortCache<number, PayloadDevice>();
  const endpoints = new InvalidatedCache<WebhookEndpoint | null>(invalidation, { maxAgeMs: ENDPOINT_CACHE_MS, maxEntries: 10_000 });
  const opened = new OpenedSecrets();
  return async (job: Job<DeliveryJobData>, token?: string): Promise<void> => {
    const { deliveryId, endpointId } = job.data;
    const event: RecordedEvent = { ...job.data.event, recordedAt: new Date(job.data.event.recordedAt) };
    const em = orm.em.fork() as EntityManager;
    const stream = streamOf.webhookDelivery(deliveryId);
    const history = await readStream(em, stream);
    const { attempts, round, ended } = standing(history);
    if (ended) return;

    const endpoint = await endpoints.remember(endpointId, () => em.findOne(WebhookEndpointSchema, { id: endpointId }));
    const facts = { deliveryId, endpointId, eventId: event.eventId, eventPosition: event.position, eventType: event.type };
    const metadata = { tenantId: event.metadata.tenantId!, ...(event.metadata.deviceId !== undefined ? { deviceId: event.metadata.deviceId } : {}) };
    if (!endpoint?.enabled) {
      const reason = endpoint ? `the endpoint is disabled (${endpoint.disabledReason ?? 'no reason given'})` : 'the endpoint was deleted';
      await appendToStream(em, stream, [{ event: { type: 'webhook.delivery-abandoned', data: { ...facts, reason } }, eventId: eventIdOf(`${deliveryId}:abandoned:${attempts}`) }], {
        expectedVersion: 'any',
        metadata,
      });
      return;
    }

    const fileId = receivedFileOf(endpoint, event);
    const inline = fileId ? await inlineMedia(fileId) : undefined;
    const release = await gate.acquire(endpointId, settings.endpointConcurrency, endpoint.rateLimit ?? null);
    if (!release) {
      await job.moveToDelayed(Date.now() + GATE_WAIT_MS + Math.floor(Math.random() * GATE_WAIT_MS), token);
      throw new DelayedError();
    }
    const attempt = attempts + 1;
    let outcome: PostOutcome;
    try {
      const deviceId = event.metadata.deviceId;
      const device = deviceId === undefined ? undefined : await devices.get(deviceId, () => payloadDevice(em, deviceId));
      const payload = await payloadOf(endpoint, event, device, fileLinks, inline);
      if (payload === undefined) return;
      const body = JSON.stringify(payload);
      const now = clock();
      const headers = {
        ...openHeaders(encryptionKey, endpoint),
        ...signatureHeaders(body, opened.of(endpoint, encryptionKey, now), event.eventId, Math.floor(now.getTime() / 1000)),
        'x-webhook-event': publicNameOf(event.type),
        'x-webhook-delivery': deliveryId,
        'x-webhook-attempt': String(attempt),
      };
      outcome = await poster.post(new URL(endpoint.url), headers, body);
    } finally {
      await release();
    }

    const now = clock();
    const delivered = outcome.statusCode !== undefined && outcome.statusCode >= 200 && outcome.statusCode < 300;
    const gone = outcome.statusCode === 410;
    const retryable = !delivered && !gone && round + 1 < attemptsAllowed(endpoint, settings.retrySchedule);
    const nextAttemptAt = retryable
      ? new Date(now.getTime() + retryDelayMs(round + 1, settings.retrySchedule, settings.retryJitter, Math.random(), parseRetryAfter(outcome.retryAfter, now)))
      : undefined;
    const attempted: Attempted = {
      ...facts,
      attempt,
      outcome: delivered ? 'delivered' : retryable ? 'retrying' : 'failed',
      latencyMs: outcome.latencyMs,
      ...(outcome.statusCode !== undefined ? { statusCode: outcome.statusCode } : {}),
      ...(outcome.responseSnippet !== undefined ? { responseSnippet: outcome.responseSnippet } : {}),
      ...(outcome.error !== undefined ? { error: outcome.error } : !delivered ? { error: `HTTP ${outcome.statusCode}` } : {}),
      ...(nextAttemptAt ? { nextAttemptAt: nextAttemptAt.toISOString() } : {}),
    };
    await appendToStream(em, stream, [{ event: { type: 'webhook.attempted', data: attempted }, eventId: eventIdOf(`${deliveryId}:attempt:${attempt}`) }], {
      expectedVersion: 'any',
      metadata,
    });
    await recordHealth(em, endpoint, delivered, gone, now, settings.disableAfterMs, invalidation);
    if (nextAttemptAt) {
      await job.moveToDelayed(nextAttemptAt.getTime(), token);
      throw new DelayedError();
    }
  };
}

// An endpoint's run of failures: cleared by a success; 410 Gone, or failing with no success for longer than
// WEBHOOK_DISABLE_AFTER, disables it. The kept endpoint follows its run here; another process's copy may lag by up to
// ENDPOINT_CACHE_MS (a repeated update that changes nothing, a disable that much later), and a disable is announced.
async function recordHealth(em: EntityManager, endpoint: WebhookEndpoint, delivered: boolean, gone: boolean, now: Date, disableAfterMs: number, invalidation: CacheInvalidation): Promise<void> {
  if (delivered) {
    if (!endpoint.failingSince) return;
    await em.nativeUpdate(WebhookEndpointSchema, { id: endpoint.id }, { failingSince: null });
    endpoint.failingSince = null;
  } else if (gone) {
    await disableEndpoint(em, endpoint, 'the receiver answered 410 Gone', now, invalidation);
  } else if (!endpoint.failingSince) {
    await em.nativeUpdate(WebhookEndpointSchema, { id: endpoint.id, failingSince: null }, { failingSince: now });
    endpoint.failingSince = now;
  } else if (now.getTime() - endpoint.failingSince.getTime() >= disableAfterMs) {
    await disableEndpoint(em, endpoint, `failing since ${endpoint.failingSince.toISOString()} without a success`, now, invalidation);
  }
}
