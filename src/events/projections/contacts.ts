import { contactFactOf, evolveContact, lidOf, mergeContacts, type ContactSource, type ContactState } from '../../domain/contacts.ts';
import type { RecordedEvent, Row, Sql } from '../event-store.ts';
import type { Projection } from './projection.ts';

// The people each device's session has heard of (seed 004's contacts): from the messages they sent (push
// names), the phone's address book as Baileys reports it, and lookups that tie a LID to a number. A person first
// met by LID becomes one contact under their number once it is known. Presence reports enrich known contacts.
export const contactsProjection: Projection = {
  name: 'contacts',
  handles: ['message.received', 'contact.*'],

  async apply(sql, events) {
    for (const event of events) {
      const { deviceId, tenantId } = event.metadata;
      if (deviceId === undefined || tenantId === undefined) continue;
      if (event.type === 'contact.presence-updated') await presence(sql, deviceId, event);
      else await learn(sql, deviceId, tenantId, event);
    }
  },

  async reset(sql) {
    await sql('delete from contacts');
  },
};

const iso = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string | Date).toISOString());

const stateOf = (row: Row): ContactState => ({
  jid: String(row.jid),
  lid: (row.lid as string | null) ?? null,
  contactName: (row.contact_name as string | null) ?? null,
  whatsappName: (row.whatsapp_name as string | null) ?? null,
  verifiedName: (row.verified_name as string | null) ?? null,
  source: row.source as ContactSource,
});

async function learn(sql: Sql, deviceId: number, tenantId: number, event: RecordedEvent): Promise<void> {
  const fact = contactFactOf(event.type, event.data);
  if (!fact) return;
  const keys = [fact.pn, fact.lid].filter((k): k is string => Boolean(k));
  const rows = await sql('select * from contacts where device_id = ? and (jid in (?) or lid = ?)', [deviceId, keys, fact.lid ?? '']);
  const byPn = rows.find((r) => fact.pn && r.jid === fact.pn);
  const byLid = rows.find((r) => r !== byPn && fact.lid && (r.jid === fact.lid || r.lid === fact.lid));
  const known = byPn && byLid ? mergeContacts(stateOf(byLid), stateOf(byPn)) : byPn || byLid ? stateOf((byPn ?? byLid)!) : undefined;
  const next = evolveContact(known, fact);
  if (!next) return;
  const at = event.recordedAt.toISOString();
  const kept = [byPn, byLid].filter((r): r is Row => Boolean(r));
  // The keys this person no longer goes by (a LID row folded into the number's).
  for (const row of kept) if (row.jid !== next.jid) await sql('delete from contacts where device_id = ? and jid = ?', [deviceId, row.jid]);
  const firstSeen = kept.map((r) => iso(r.created_at)!).sort()[0] ?? at;
  const seen: Row = kept.find((r) => r.presence_at) ?? {};
  await sql(
    `insert into contacts (device_id, jid, tenant_id, lid, contact_name, whatsapp_name, verified_name, source, presence, last_seen, presence_at, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     on conflict (device_id, jid) do update set lid = excluded.lid, contact_name = excluded.contact_name, whatsapp_name = excluded.whatsapp_name,
       verified_name = excluded.verified_name, source = excluded.source, created_at = excluded.created_at, updated_at = excluded.updated_at`,
    [
      deviceId, next.jid, tenantId, next.lid, next.contactName, next.whatsappName, next.verifiedName, next.source,
      seen.presence ?? null, iso(seen.last_seen), iso(seen.presence_at), firstSeen, at,
    ],
  );
}

async function presence(sql: Sql, deviceId: number, event: RecordedEvent): Promise<void> {
  const { jid, presence: state, lastSeen } = event.data as { jid: string; presence: string; lastSeen?: number };
  const lastSeenAt = typeof lastSeen === 'number' ? new Date(lastSeen * 1000).toISOString() : null;
  await sql(
    `update contacts set presence = ?, last_seen = coalesce(?::timestamptz, last_seen), presence_at = ? where device_id = ? and (jid = ? or lid = ?)`,
    [state, lastSeenAt, event.recordedAt.toISOString(), deviceId, jid, lidOf(jid) ?? ''],
  );
}
