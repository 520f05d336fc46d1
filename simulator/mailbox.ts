import type { BinaryNode } from '@whiskeysockets/baileys';

// Store-and-forward: every stanza for a companion is kept until that companion acknowledges it (a receipt for a
// message, an ack for a receipt), so one that was offline — or dropped before acknowledging — gets it at its
// next login, as WhatsApp's servers do.
export class Mailbox {
  readonly #pending = new Map<string, Map<string, BinaryNode>>();

  put(device: string, key: string, node: BinaryNode): void {
    let box = this.#pending.get(device);
    if (!box) this.#pending.set(device, (box = new Map()));
    box.set(key, node);
  }

  remove(device: string, key: string): void {
    const box = this.#pending.get(device);
    box?.delete(key);
    if (box?.size === 0) this.#pending.delete(device);
  }

  pending(device: string): [key: string, node: BinaryNode][] {
    return [...(this.#pending.get(device)?.entries() ?? [])];
  }

  forget(device: string): void {
    this.#pending.delete(device);
  }
}

// What a stanza is acknowledged by: a `<receipt>` (or a nack `<ack class="message">`) with the message's id, an
// `<ack class="receipt">` with the receipt's id and type, an `<ack class="notification">` with the notification's id.
export const messageKey = (id: string) => `message:${id}`;
export const receiptKey = (id: string, type?: string) => `receipt:${id}:${type ?? ''}`;
export const notificationKey = (id: string) => `notification:${id}`;
