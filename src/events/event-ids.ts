import { createHash } from 'node:crypto';

// An event id derived from what the event records (a name-based UUID, version 8), for facts that may be
// observed more than once — a receipt WhatsApp repeats, a message Baileys delivers again after a reconnect —
// so appending the same fact twice is a no-op (appendToStream skips ids it already holds).
export function eventIdOf(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
