import { jidDecode, jidEncode } from '@whiskeysockets/baileys';
import type { Phone } from './phones.ts';

// Who is who on the simulated network: an account (a phone) reached by number or LID, and its devices — the
// phone itself is device 0, linked companions are 1, 2, ….

export interface Directory {
  readonly phones: ReadonlyMap<string, Phone>;
  readonly devices: ReadonlyMap<string, { phone: Phone; device: number }>;
}

export interface Endpoint {
  phone: Phone;
  device: number;
}

export type Addressing = 'pn' | 'lid';

export const addressingOf = (jid: string): Addressing => (jidDecode(jid)?.server === 'lid' ? 'lid' : 'pn');

// The jid of an account (device undefined) or of one of its devices, in either addressing.
export function jidOf(phone: Phone, addressing: Addressing, device?: number): string {
  return addressing === 'lid' ? jidEncode(phone.lid, 'lid', device) : jidEncode(phone.number, 's.whatsapp.net', device);
}

// The key a linked companion is known by (`sim.devices`, `connection.deviceJid`, mailboxes).
export const deviceKey = ({ phone, device }: Endpoint): string => `${phone.number}:${device}@s.whatsapp.net`;

export function findPhone(dir: Directory, jid: string | undefined): Phone | undefined {
  const decoded = jidDecode(jid);
  if (!decoded) return undefined;
  if (decoded.server === 's.whatsapp.net') return dir.phones.get(decoded.user);
  if (decoded.server === 'lid') return [...dir.phones.values()].find((p) => p.lid === decoded.user);
  return undefined;
}

// A device that exists: the phone always does, a companion only while linked.
export function findEndpoint(dir: Directory, jid: string): Endpoint | undefined {
  const phone = findPhone(dir, jid);
  if (!phone) return undefined;
  const endpoint = { phone, device: jidDecode(jid)?.device ?? 0 };
  return endpoint.device === 0 || dir.devices.has(deviceKey(endpoint)) ? endpoint : undefined;
}

export function endpointsOf(dir: Directory, phone: Phone): Endpoint[] {
  const companions = [...dir.devices.values()].filter((d) => d.phone === phone).map((d) => ({ phone, device: d.device }));
  return [{ phone, device: 0 }, ...companions.sort((a, b) => a.device - b.device)];
}

// Who a delivered stanza is from, in a given addressing: the sending device (as `from`, or as `participant` in a
// group) with the other form of its account alongside — except in a copy to the sender's own devices, which names
// the chat (`recipient`) and, as WhatsApp does, the other form of the chat's account (`peer_recipient_…`) instead
// (clients take that as the key's `…Alt`).
export function addressedFrom(sender: Endpoint, role: 'sender' | 'participant', recipient?: Phone) {
  return (a: Addressing): Record<string, string> => {
    const other = a === 'pn' ? 'lid' : 'pn';
    return {
      [role === 'sender' ? 'from' : 'participant']: jidOf(sender.phone, a, sender.device),
      ...(recipient
        ? { recipient: jidOf(recipient, a), [`peer_recipient_${other}`]: jidOf(recipient, other) }
        : { [`${role}_${other}`]: jidOf(sender.phone, other) }),
    };
  };
}
