import { lidPairOf } from '../../domain/contacts.ts';
import type { Projection } from './projection.ts';

// Which phone number each LID belongs to, per user: from every event that names a person both ways (a message
// WhatsApp addressed with both, a lookup, a contact record, our own account on connecting). Read at query time, so
// what was received from a bare LID before its number was known is shown by number once it is.
export const lidMappingsProjection: Projection = {
  name: 'lid-mappings',
  handles: ['message.received', 'contact.updated', 'contact.identified', 'device.connected'],

  async apply(sql, events) {
    // One row per (user, LID) per statement, the latest pair winning: an upsert may not touch a row twice.
    const pairs = new Map<string, [number, string, string, string]>();
    for (const event of events) {
      const pair = lidPairOf(event.type, event.data);
      const tenant = event.metadata.tenantId;
      if (pair && tenant !== undefined) pairs.set(`${tenant}|${pair.lid}`, [tenant, pair.lid, pair.pn, event.recordedAt.toISOString()]);
    }
    if (!pairs.size) return;
    await sql(
      `insert into lid_mappings (tenant_id, lid, pn, learned_at) values ${[...pairs.values()].map(() => '(?, ?, ?, ?)').join(', ')}
       on conflict (tenant_id, lid) do update set pn = excluded.pn, learned_at = excluded.learned_at where lid_mappings.pn <> excluded.pn`,
      [...pairs.values()].flat(),
    );
  },

  async reset(sql) {
    await sql('delete from lid_mappings');
  },
};
