import type { EntityManager } from '@mikro-orm/postgresql';
import { phoneNumberOf, pnOf } from '../domain/contacts.ts';
import { AppError } from '../domain/errors.ts';
import { sqlOf, type Row } from '../events/event-store.ts';

// Contacts as the API shows them (seed 004), from the contacts read model. A person known to the session by LID
// alone is shown by number when the user's LID map knows it (learned by any of their devices).

export interface ContactView {
  deviceId: number;
  jid: string;
  phoneNumber: string | null;
  lid: string | null;
  contactName: string | null;
  whatsappName: string | null;
  verifiedName: string | null;
  source: string;
  presence: string | null;
  lastSeen: string | null;
  updatedAt: string;
}

const iso = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string | Date).toISOString());

function viewOf(row: Row): ContactView {
  const jid = String(row.mapped_pn ?? row.jid);
  return {
    deviceId: Number(row.device_id),
    jid,
    phoneNumber: phoneNumberOf(jid),
    lid: (row.lid as string | null) ?? (String(row.jid).endsWith('@lid') ? String(row.jid) : null),
    contactName: (row.contact_name as string | null) ?? null,
    whatsappName: (row.whatsapp_name as string | null) ?? null,
    verifiedName: (row.verified_name as string | null) ?? null,
    source: String(row.source),
    presence: (row.presence as string | null) ?? null,
    lastSeen: iso(row.last_seen),
    updatedAt: iso(row.updated_at)!,
  };
}

// Ordered by device then JID; the cursor (`<deviceId> <jid>`, base64url) is where the previous page ended.
const encodeCursor = (deviceId: number, jid: string) => Buffer.from(`${deviceId} ${jid}`).toString('base64url');
function decodeCursor(cursor: string | undefined): [number, string] | undefined {
  if (!cursor) return undefined;
  const [, deviceId, jid] = /^(\d+) (\S+)$/.exec(Buffer.from(cursor, 'base64url').toString()) ?? [];
  if (!deviceId || !jid) throw new AppError('VALIDATION_ERROR', 'cursor is not one this API handed out');
  return [Number(deviceId), jid];
}

export interface ContactFilter {
  tenantId: number;
  deviceId?: number;
  // A bound credential's devices.
  deviceIds?: readonly number[];
  // Matches names, numbers and LIDs (case-insensitive, anywhere in them).
  search?: string;
}

export async function listContacts(em: EntityManager, filter: ContactFilter, limit: number, cursor?: string): Promise<{ items: ContactView[]; nextCursor: string | null }> {
  const after = decodeCursor(cursor);
  const where = ['c.tenant_id = ?'];
  const params: unknown[] = [filter.tenantId];
  if (filter.deviceId !== undefined) {
    where.push('c.device_id = ?');
    params.push(filter.deviceId);
  }
  if (filter.deviceIds !== undefined) {
    where.push(filter.deviceIds.length ? `c.device_id in (${filter.deviceIds.map(() => '?').join(', ')})` : 'false');
    params.push(...filter.deviceIds);
  }
  if (filter.search) {
    where.push(`concat_ws(' ', c.jid, c.lid, c.contact_name, c.whatsapp_name, c.verified_name, m.pn) ilike ?`);
    params.push(`%${filter.search.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
  }
  if (after) {
    where.push('(c.device_id, c.jid) > (?, ?)');
    params.push(...after);
  }
  const rows = await sqlOf(em)(
    `select c.*, case when c.jid like '%@lid' then m.pn end as mapped_pn
       from contacts c left join lid_mappings m on m.tenant_id = c.tenant_id and m.lid = coalesce(c.lid, c.jid)
      where ${where.join(' and ')} order by c.device_id, c.jid limit ?`,
    [...params, limit + 1],
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(viewOf), nextCursor: rows.length > limit && last ? encodeCursor(Number(last.device_id), String(last.jid)) : null };
}

// A contact as Baileys' own store keeps it (its `Contact`), for clients written against Baileys: `id` by number when
// known else the LID, `phoneNumber` as a JID, `name` from the address book, `notify` the push name. Fields we do not
// know are left out, as Baileys leaves them.
export interface BaileysContact {
  id: string;
  lid?: string;
  phoneNumber?: string;
  name?: string;
  notify?: string;
  verifiedName?: string;
}

export function baileysContactOf(view: ContactView): BaileysContact {
  const pn = pnOf(view.jid);
  return {
    id: view.jid,
    ...(view.lid ? { lid: view.lid } : {}),
    ...(pn ? { phoneNumber: pn } : {}),
    ...(view.contactName ? { name: view.contactName } : {}),
    ...(view.whatsappName ? { notify: view.whatsappName } : {}),
    ...(view.verifiedName ? { verifiedName: view.verifiedName } : {}),
  };
}
