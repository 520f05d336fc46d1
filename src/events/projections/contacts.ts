import { contactFactOf, evolveContact, lidOf, mergeContacts, type ContactSource, type ContactState } from '../../domain/contacts.ts';
import type { RecordedEvent, Row, Sql } from '../event-store.ts';
import type { Projection } from './projection.ts';

// The people each device's session has heard of (seed 004's contacts): from the messages they sent (push
// names), the phone's address book as Baileys reports it, and lookups that tie a LID to a number. A person first
// met by LID becomes one contact under their number once it is known. Presence reports enrich known contacts.
export const contactsProjection: Projection = {
  name: 'contacts',
  handles: ['message.received', 'contact.*'],

  // What the events teach is worked out in memory, a run of events at a time, and written with one read and at most
  // two writes per run; a presence report applies to what the events before it made, so it ends a run.
  async apply(sql, events) {
    let run: RecordedEvent[] = [];
    for (const event of events) {
      const { deviceId, tenantId } = event.metadata;
      if (deviceId === undefined || tenantId === undefined) continue;
      if (event.type !== 'contact.presence-updated') {
        run.push(event);
        continue;
      }
      await learn(sql, run);
      run = [];
      await presence(sql, deviceId, event);
    }
    await learn(sql, run);
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

const keyOf = (deviceId: unknown, jid: unknown) => `${deviceId}:${jid}`;

async function learn(sql: Sql, events: RecordedEvent[]): Promise<void> {
  const facts = events.flatMap((event) => {
    const fact = contactFactOf(event.type, event.data);
    return fact ? [{ deviceId: event.metadata.deviceId!, tenantId: event.metadata.tenantId!, fact, at: event.recordedAt.toISOString() }] : [];
  });
  if (!facts.length) return;
  const wanted = facts.flatMap(({ deviceId, fact }) => [fact.pn, fact.lid].filter((k): k is string => Boolean(k)).map((key) => ({ device_id: deviceId, key })));
  const book = new Map<string, Row>();
  for (const row of await sql(
    `select distinct c.* from contacts c join jsonb_to_recordset(?::jsonb) as k(device_id int, key text) on c.device_id = k.device_id and (c.jid = k.key or c.lid = k.key)`,
    [JSON.stringify(wanted)],
  )) {
    book.set(keyOf(row.device_id, row.jid), row);
  }
  const stored = new Set(book.keys());
  const gone = new Set<string>();
  const changed = new Set<string>();
  for (const { deviceId, tenantId, fact, at } of facts) {
    const byPn = fact.pn ? book.get(keyOf(deviceId, fact.pn)) : undefined;
    const byLid = fact.lid ? [...book.values()].find((r) => r !== byPn && Number(r.device_id) === deviceId && (r.jid === fact.lid || r.lid === fact.lid)) : undefined;
    const known = byPn && byLid ? mergeContacts(stateOf(byLid), stateOf(byPn)) : byPn || byLid ? stateOf((byPn ?? byLid)!) : undefined;
    const next = evolveContact(known, fact);
    if (!next) continue;
    const kept = [byPn, byLid].filter((r): r is Row => Boolean(r));
    const key = keyOf(deviceId, next.jid);
    // The keys this person no longer goes by (a LID row folded into the number's).
    for (const row of kept) {
      if (row.jid === next.jid) continue;
      book.delete(keyOf(deviceId, row.jid));
      changed.delete(keyOf(deviceId, row.jid));
      gone.add(keyOf(deviceId, row.jid));
    }
    // A row kept under its key keeps its own presence (the upsert leaves it); a new one takes a folded row's.
    const seen: Row = book.get(key) ?? kept.find((r) => r.presence_at) ?? {};
    book.set(key, {
      device_id: deviceId,
      jid: next.jid,
      tenant_id: tenantId,
      lid: next.lid,
      contact_name: next.contactName,
      whatsapp_name: next.whatsappName,
      verified_name: next.verifiedName,
      source: next.source,
      presence: seen.presence ?? null,
      last_seen: iso(seen.last_seen),
      presence_at: iso(seen.presence_at),
      created_at: kept.map((r) => iso(r.created_at)!).sort()[0] ?? at,
      updated_at: at,
    });
    gone.delete(key);
    changed.add(key);
  }
  const deleted = [...gone].filter((key) => stored.has(key)).map((key) => {
    const [deviceId, ...jid] = key.split(':');
    return { device_id: Number(deviceId), jid: jid.join(':') };
  });
  if (deleted.length) {
    await sql('delete from contacts c using jsonb_to_recordset(?::jsonb) as g(device_id int, jid text) where c.device_id = g.device_id and c.jid = g.jid', [JSON.stringify(deleted)]);
  }
  if (changed.size) {
    await sql(
      `insert into contacts (device_id, jid, tenant_id, lid, contact_name, whatsapp_name, verified_name, source, presence, last_seen, presence_at, created_at, updated_at)
       select * from jsonb_to_recordset(?::jsonb) as r(device_id int, jid text, tenant_id int, lid text, contact_name text, whatsapp_name text, verified_name text,
         source text, presence text, last_seen timestamptz, presence_at timestamptz, created_at timestamptz, updated_at timestamptz)
       on conflict (device_id, jid) do update set lid = excluded.lid, contact_name = excluded.contact_name, whatsapp_name = excluded.whatsapp_name,
         verified_name = excluded.verified_name, source = excluded.source, created_at = excluded.created_at, updated_at = excluded.updated_at`,
      [JSON.stringify([...changed].map((key) => book.get(key)))],
    );
  }
}

async function presence(sql: Sql, deviceId: number, event: RecordedEvent): Promise<void> {
  const { jid, presence: state, lastSeen } = event.data as { jid: string; presence: string; lastSeen?: number };
  const lastSeenAt = typeof lastSeen === 'number' ? new Date(lastSeen * 1000).toISOString() : null;
  await sql(
    `update contacts set presence = ?, last_seen = coalesce(?::timestamptz, last_seen), presence_at = ? where device_id = ? and (jid = ? or lid = ?)`,
    [state, lastSeenAt, event.recordedAt.toISOString(), deviceId, jid, lidOf(jid) ?? ''],
  );
}
