import { normalizePhoneNumber } from './phone-numbers.ts';

// Whom a message goes to, as WhatsApp addresses it: a person by phone number (`<digits>@s.whatsapp.net`), a
// person by LID (`<digits>@lid`), or a group (`<id>@g.us`). Callers write numbers as people do (`+62 812…`),
// or pass a JID they got from us (a received message, a group list).
export interface Recipient {
  jid: string;
  kind: 'person' | 'group';
}

const GROUP = /^(\d{5,20}(-\d{5,20})?)@g\.us$/;
const PERSON = /^(\d{7,15})(:\d+)?@(s\.whatsapp\.net|c\.us)$/;
const LID = /^(\d{5,20})(:\d+)?@lid$/;

export function parseRecipient(input: string): Recipient | undefined {
  const text = input.trim();
  const group = GROUP.exec(text);
  if (group) return { jid: `${group[1]}@g.us`, kind: 'group' };
  const person = PERSON.exec(text);
  if (person) return normalizePhoneNumber(person[1]!) ? { jid: `${person[1]}@s.whatsapp.net`, kind: 'person' } : undefined;
  const lid = LID.exec(text);
  if (lid) return { jid: `${lid[1]}@lid`, kind: 'person' };
  const digits = normalizePhoneNumber(text);
  return digits ? { jid: `${digits}@s.whatsapp.net`, kind: 'person' } : undefined;
}
