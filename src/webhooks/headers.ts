import type { EntityManager } from '@mikro-orm/postgresql';
import { WebhookEndpointSchema, type WebhookEndpoint } from '../db/entities/webhook-endpoint.ts';
import { AppError } from '../domain/errors.ts';
import { open, seal } from '../secret-box.ts';

// An endpoint's custom headers are usually the receiver's own credential (`Authorization: Bearer …`), so their values
// are sealed at rest like the endpoint's secret, each bound to its endpoint and header name; names stay readable, so
// the API can show which headers are set. A value is never shown again after it was set.

export const MASKED = '••••';

// Headers we set ourselves; a custom header can't replace them.
const RESERVED_HEADERS = /^(host|content-type|content-length|connection|transfer-encoding|user-agent|webhook-.*|x-webhook-signature|x-hub-signature-256)$/i;

export function checkHeaders(headers: Record<string, string>): void {
  const reserved = Object.keys(headers).find((name) => RESERVED_HEADERS.test(name));
  if (reserved) throw new AppError('VALIDATION_ERROR', `the header ${reserved} is set by the platform and cannot be configured`);
}

const associated = (endpointId: string, name: string) => `webhook-endpoint-${endpointId}:header:${name.toLowerCase()}`;

export function sealHeaders(key: Buffer, endpointId: string, headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, seal(key, value, associated(endpointId, name))]));
}

// What a delivery sends.
export function openHeaders(key: Buffer, endpoint: Pick<WebhookEndpoint, 'id' | 'sealedHeaders'>): Record<string, string> {
  return Object.fromEntries(Object.entries(endpoint.sealedHeaders).map(([name, sealed]) => [name, open(key, sealed, associated(endpoint.id, name))]));
}

// What the API shows.
export function maskedHeaders(endpoint: Pick<WebhookEndpoint, 'sealedHeaders'>): Record<string, string> {
  return Object.fromEntries(Object.keys(endpoint.sealedHeaders).map((name) => [name, MASKED]));
}

// Headers stored in plain text before they were sealed (the migration that added `sealed_headers` could not seal
// them: it has no key) are sealed at start-up, before any worker delivers. Idempotent, and safe with several
// processes starting together: each row moves once, under its row lock.
export async function sealPlainHeaders(em: EntityManager, key: Buffer): Promise<number> {
  const plain = await em.find(WebhookEndpointSchema, { plainHeaders: { $ne: null } }, { fields: ['id', 'plainHeaders'] });
  let sealed = 0;
  for (const endpoint of plain) {
    sealed += await em.nativeUpdate(
      WebhookEndpointSchema,
      { id: endpoint.id, plainHeaders: { $ne: null } },
      { sealedHeaders: sealHeaders(key, endpoint.id, endpoint.plainHeaders!), plainHeaders: null },
    );
  }
  return sealed;
}
