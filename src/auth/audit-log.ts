import type { EntityManager } from '@mikro-orm/postgresql';
import { AUDIT_ACTIONS, type AuditAction } from '../domain/audit.ts';
import { sqlOf, type EventMetadata } from '../events/event-store.ts';

export interface AuditEntry {
  // The event's feed position: the page's cursor.
  id: number;
  eventId: string;
  action: string;
  stream: string;
  at: string;
  data: Record<string, unknown>;
  actor: NonNullable<EventMetadata['actor']> | null;
  ip: string | null;
  requestId: string | null;
}

export interface AuditQuery {
  action?: AuditAction;
  // The acting user's username.
  actor?: string;
  since?: Date;
  limit: number;
  // The previous page's `nextCursor`: entries older than it.
  cursor?: number;
}

// Newest first, by feed position (keyset: stable while new entries arrive). Every value is a bound parameter.
export async function listAudit(em: EntityManager, query: AuditQuery): Promise<{ items: AuditEntry[]; nextCursor: number | null }> {
  const clauses: [string, unknown][] = [['type in (?)', query.action ? [query.action] : [...AUDIT_ACTIONS]]];
  if (query.cursor !== undefined) clauses.push(['global_position < ?', query.cursor]);
  if (query.actor !== undefined) clauses.push([`metadata->'actor'->>'username' = ?`, query.actor]);
  if (query.since) clauses.push(['recorded_at >= ?', query.since.toISOString()]);
  const rows = await sqlOf(em)(
    `select global_position, event_id, stream_id, type, data, metadata, recorded_at from events
      where ${clauses.map(([c]) => c).join(' and ')} order by global_position desc limit ?`,
    [...clauses.map(([, v]) => v), query.limit + 1],
  );
  const items = rows.slice(0, query.limit).map((row): AuditEntry => {
    const metadata = row.metadata as EventMetadata;
    return {
      id: Number(row.global_position),
      eventId: String(row.event_id),
      action: String(row.type),
      stream: String(row.stream_id),
      at: new Date(row.recorded_at as string).toISOString(),
      data: row.data as Record<string, unknown>,
      actor: metadata.actor ?? null,
      ip: metadata.ip ?? null,
      requestId: metadata.requestId ?? null,
    };
  });
  return { items, nextCursor: rows.length > query.limit ? items.at(-1)!.id : null };
}
