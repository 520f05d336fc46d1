import type { EventPayloads } from './events.ts';

// Contacts as a session learns them from WhatsApp, and the LID ↔ phone-number pairs that come with them. Pure:
// the projections fold these facts in log order, the session host only reports them.

// Where a contact's details came from: the phone's address book (Baileys' contacts events), a message they sent,
// a number lookup (usync), or a group's member list.
export type ContactSource = 'contact' | 'message' | 'lookup' | 'group';

// One thing learned about a person: their phone-number JID and/or LID, and names.
export interface ContactFact {
  pn?: string;
  lid?: string;
  contactName?: string;
  whatsappName?: string;
  verifiedName?: string;
  source: ContactSource;
  // Only enriches a contact already known (a lookup or a group member is not a contact by itself).
  enrichOnly?: boolean;
}

export interface ContactState {
  // The phone-number JID when known, else the LID.
  jid: string;
  lid: string | null;
  contactName: string | null;
  whatsappName: string | null;
  verifiedName: string | null;
  source: ContactSource;
}

export interface LidPair {
  lid: string;
  pn: string;
}

const ACCOUNT = /^([^:@]+)(?::\d+)?@(s\.whatsapp\.net|lid)$/;

// The account a JID names, without its device (`628…:3@s.whatsapp.net` → `628…@s.whatsapp.net`); undefined for
// anything that is not a person (groups, broadcasts, malformed text).
export function accountJid(jid: unknown): string | undefined {
  const match = typeof jid === 'string' ? ACCOUNT.exec(jid) : null;
  return match ? `${match[1]}@${match[2]}` : undefined;
}

const personOf = (jid: unknown, server: 's.whatsapp.net' | 'lid') => {
  const account = accountJid(jid);
  return account?.endsWith(`@${server}`) ? account : undefined;
};
export const pnOf = (jid: unknown) => personOf(jid, 's.whatsapp.net');
export const lidOf = (jid: unknown) => personOf(jid, 'lid');

// `+<digits>` of a phone-number JID.
export function phoneNumberOf(jid: string): string | null {
  const pn = pnOf(jid);
  return pn ? `+${pn.split('@')[0]}` : null;
}

const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);

// What an event says about a person, if anything.
export function contactFactOf(type: string, data: Record<string, unknown>): ContactFact | undefined {
  if (type === 'message.received') {
    // In a group the push name is the participant's, and they are still a person we heard from.
    const pn = pnOf(data.from);
    const lid = lidOf(data.fromLid) ?? lidOf(data.from);
    if (!pn && !lid) return undefined;
    return { ...(pn ? { pn } : {}), ...(lid ? { lid } : {}), ...optional('whatsappName', text(data.pushName)), source: 'message' };
  }
  if (type === 'contact.updated' || type === 'contact.identified') {
    const pn = pnOf(data.jid) ?? pnOf(data.pn);
    const lid = lidOf(data.lid) ?? lidOf(data.jid);
    if (!pn && !lid) return undefined;
    const source = (['contact', 'message', 'lookup', 'group'] as const).find((s) => s === data.source) ?? 'contact';
    return {
      ...(pn ? { pn } : {}),
      ...(lid ? { lid } : {}),
      ...optional('contactName', text(data.name)),
      ...optional('whatsappName', text(data.pushName)),
      ...optional('verifiedName', text(data.verifiedName)),
      source,
      ...(type === 'contact.identified' ? { enrichOnly: true } : {}),
    };
  }
  return undefined;
}

const optional = <K extends string>(key: K, value: string | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, string>));

// The LID ↔ phone-number pair an event carries, if it carries both: a message from someone WhatsApp named both
// ways, a lookup, a contact record, or our own account on connecting.
export function lidPairOf(type: string, data: Record<string, unknown>): LidPair | undefined {
  if (type === 'device.connected') {
    const digits = typeof data.phoneNumber === 'string' ? data.phoneNumber.replace(/^\+/, '') : '';
    const lid = lidOf(data.lid);
    return lid && /^\d+$/.test(digits) ? { lid, pn: `${digits}@s.whatsapp.net` } : undefined;
  }
  const fact = contactFactOf(type, data);
  return fact?.pn && fact.lid ? { lid: fact.lid, pn: fact.pn } : undefined;
}

// The address-book name wins over what else we heard; a later name of the same kind replaces an earlier one.
export function evolveContact(state: ContactState | undefined, fact: ContactFact): ContactState | undefined {
  if (!state && fact.enrichOnly) return undefined;
  return {
    jid: fact.pn ?? state?.jid ?? fact.lid!,
    lid: fact.lid ?? state?.lid ?? null,
    contactName: fact.contactName ?? state?.contactName ?? null,
    whatsappName: fact.whatsappName ?? state?.whatsappName ?? null,
    verifiedName: fact.verifiedName ?? state?.verifiedName ?? null,
    source: fact.source === 'contact' || !state ? fact.source : state.source,
  };
}

// One person known twice, by LID first and by phone number later: one contact, the later details on top.
export function mergeContacts(earlier: ContactState, later: ContactState): ContactState {
  const pnJid = pnOf(later.jid) ?? pnOf(earlier.jid);
  return {
    jid: pnJid ?? later.jid,
    lid: later.lid ?? earlier.lid,
    contactName: later.contactName ?? earlier.contactName,
    whatsappName: later.whatsappName ?? earlier.whatsappName,
    verifiedName: later.verifiedName ?? earlier.verifiedName,
    source: earlier.source === 'contact' ? 'contact' : later.source,
  };
}

// A contact record as Baileys reports it (`contacts.upsert`/`contacts.update`), in the fields we keep.
export interface ReportedContact {
  id?: string | null;
  lid?: string | null;
  phoneNumber?: string | null;
  name?: string | null;
  notify?: string | null;
  verifiedName?: string | null;
}

// What a reported contact tells us, as a `contact.updated` payload; nothing when it names nobody or says nothing.
export function contactUpdateOf(contact: ReportedContact): EventPayloads['contact.updated'] | undefined {
  const pn = pnOf(contact.phoneNumber) ?? pnOf(contact.id);
  const lid = lidOf(contact.lid) ?? lidOf(contact.id);
  const names = { ...optional('name', text(contact.name)), ...optional('pushName', text(contact.notify)), ...optional('verifiedName', text(contact.verifiedName)) };
  if (!(pn ?? lid) || (!Object.keys(names).length && !(pn && lid))) return undefined;
  return { jid: (pn ?? lid)!, ...(pn && lid ? { lid } : {}), ...names, source: 'contact' };
}

// The pairs a list of people (group participants, lookup answers) carries.
export function lidPairsOf(people: { id?: string | null; lid?: string | null; phoneNumber?: string | null }[]): LidPair[] {
  return people.flatMap((p) => {
    const pn = pnOf(p.phoneNumber) ?? pnOf(p.id);
    const lid = lidOf(p.lid) ?? lidOf(p.id);
    return pn && lid ? [{ pn, lid }] : [];
  });
}
