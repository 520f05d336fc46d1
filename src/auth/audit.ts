import type { EntityManager } from '@mikro-orm/postgresql';
import type { DomainEvent } from '../domain/events.ts';
import { appendToStream, type EventMetadata } from '../events/event-store.ts';

// Where a security-relevant action came from: the caller (absent before anyone is authenticated, as on a
// failed login), the credential kind, the client's address and the request's id (X-Request-Id).
export interface AuditSource {
  actor?: { userId: number; username: string; via: string };
  ip?: string;
  requestId?: string;
  // The route called, `POST /api/whatsapp/admin/users` (for the record of admin-token use).
  route?: string;
}

// Audit events carry no tenant: they stay out of the users' event feeds and webhooks, and are listed to
// administrators only (GET /api/whatsapp/admin/audit).
export function auditMetadata(source: AuditSource | undefined): EventMetadata {
  if (!source) return {};
  return {
    ...(source.actor ? { actor: source.actor } : {}),
    ...(source.ip ? { ip: source.ip } : {}),
    ...(source.requestId ? { requestId: source.requestId, correlationId: source.requestId } : {}),
  };
}

// Appended on `em`, so in the caller's transaction: the record commits with the change it records, or neither.
export async function recordAudit(em: EntityManager, streamId: string, events: DomainEvent[], source: AuditSource | undefined): Promise<void> {
  if (!events.length) return;
  await appendToStream(
    em,
    streamId,
    events.map((event) => ({ event })),
    { expectedVersion: 'any', metadata: auditMetadata(source) },
  );
}
