import type { EntityManager } from '@mikro-orm/postgresql';
import type { RecordedEvent, Sql } from '../event-store.ts';

// A read model fed from the log. `apply` runs inside the runner's transaction, the same one that moves the
// projection's checkpoint, so each event takes effect exactly once. It must derive everything from the events
// (times included), so a rebuild from zero reproduces the live rows. `em` is the same transaction, for reactors
// that append events or write entities as part of the batch.
export interface Projection {
  name: string;
  // Exact event types, or prefixes written `message.*`.
  handles: string[];
  apply(sql: Sql, events: RecordedEvent[], em: EntityManager): Promise<void>;
  // Empties the read model before a rebuild.
  reset(sql: Sql): Promise<void>;
}

export function handlesType(projection: Projection, type: string): boolean {
  return projection.handles.some((h) => (h.endsWith('*') ? type.startsWith(h.slice(0, -1)) : h === type));
}
