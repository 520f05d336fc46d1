import type { proto } from '@whiskeysockets/baileys';
import type { MediaKind } from './media-crypto.ts';
import type { InboxMedia, SentMedia } from './phone-media.ts';
import type { Phone } from './phones.ts';
import { PhoneSignal } from './phone-signal.ts';

// The messaging side of a simulated phone: its Signal device, what it received, what it sent and how it
// answers with receipts.

export interface InboxEntry {
  from: string;
  id: string;
  timestamp: number;
  receivedAt: number;
  // The text as the user sees it ('' for a message without one: a location, a contact card, a reaction…).
  text: string;
  // The message's kind (`conversation`, `locationMessage`, `reactionMessage`, `protocolMessage`…) and the
  // decrypted message itself, for tests of what is not a text.
  type: string;
  message: proto.IMessage;
  // For a group message, the group.
  group?: string;
  // For a message with media: what it declared and whether what the phone downloaded matched.
  media?: InboxMedia;
}

export type ReceiptPolicyName = 'read' | 'delivered' | 'none';
export const RECEIPT_POLICIES: readonly ReceiptPolicyName[] = ['read', 'delivered', 'none'];

// `read`: delivered, then read `delayMs` later; `delivered`: delivered only; `none`: nothing, as if the phone
// were switched off.
export interface ReceiptPolicy {
  policy: ReceiptPolicyName;
  delayMs: number;
}

export type ReceiptStatus = 'delivered' | 'read' | 'played';

export interface SentEntry {
  id: string;
  to: string;
  text: string;
  timestamp: number;
  status: 'sent' | ReceiptStatus;
  media?: MediaKind;
}

export class Handset {
  signal: PhoneSignal;
  // Every delivery, repeats included, so tests can check exactly-once.
  readonly inbox: InboxEntry[] = [];
  readonly sent = new Map<string, SentEntry>();
  // The decrypted media of received messages, and what the phone needs to upload its own media again, by message id.
  readonly mediaFiles = new Map<string, { bytes: Buffer; mimetype: string }>();
  readonly sentMedia = new Map<string, SentMedia>();
  receipts: ReceiptPolicy = { policy: 'read', delayMs: 200 };

  readonly #phone: Phone;

  constructor(phone: Phone) {
    this.#phone = phone;
    this.signal = new PhoneSignal(phone.identity, phone.jid, `${phone.lid}@lid`);
  }

  // WhatsApp reinstalled on the phone: same account, a fresh Signal store (new registration id, signed pre-key and
  // no sessions), so its next message to a companion starts a new session the companion must replace its own with.
  reinstall(): void {
    this.signal = new PhoneSignal(this.#phone.identity, this.#phone.jid, `${this.#phone.lid}@lid`);
  }
}

// Text as the user sees it, from the message kinds a text arrives in.
export function textOf(message: { conversation?: string | null; extendedTextMessage?: { text?: string | null } | null }): string | undefined {
  return message.conversation ?? message.extendedTextMessage?.text ?? undefined;
}
