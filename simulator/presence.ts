import type { BinaryNode } from '@whiskeysockets/baileys';
import { deviceKey, findPhone, type Directory, type Endpoint } from './directory.ts';
import type { Phone, PhonePresence } from './phones.ts';

// Presence, both ways. A companion subscribes to an account (`<presence type="subscribe" to>`) and is told its
// presence at once and on every change (`<presence from type last?>`); it sets its own account's presence
// (`<presence type="available|unavailable" name>`), which subscribers of that account hear about; and it shows
// typing or recording to someone (`<chatstate to><composing/>`), which that account's phone keeps. Subscriptions
// end with the connection that made them.

export interface ChatState {
  from: string;
  state: string;
  at: number;
}

interface Net extends Directory {
  connectionsOf(jid: string): { send(node: BinaryNode): void }[];
}

export class PresenceHub {
  readonly #net: Net;
  // Per account (phone number): subscribed companions (device keys) and the JID each asked by.
  readonly #subscribers = new Map<string, Map<string, string>>();
  readonly #chatStates = new Map<string, ChatState[]>();

  constructor(net: Net) {
    this.#net = net;
  }

  onNode(by: Endpoint, node: BinaryNode): void {
    if (node.tag === 'chatstate') {
      const to = findPhone(this.#net, node.attrs.to);
      const state = Array.isArray(node.content) ? node.content[0] : undefined;
      if (!to || !state) return;
      const kind = state.tag === 'composing' && state.attrs.media === 'audio' ? 'recording' : state.tag;
      this.chatStatesOf(to).push({ from: by.phone.jid, state: kind, at: Date.now() });
      return;
    }
    const { type, to } = node.attrs;
    if (type === 'subscribe') {
      const target = findPhone(this.#net, to);
      if (!target || !to) return;
      const subscribers = this.#subscribers.get(target.number) ?? new Map<string, string>();
      this.#subscribers.set(target.number, subscribers.set(deviceKey(by), to));
      this.#tell(deviceKey(by), to, target.presence);
      return;
    }
    if (type === 'available' || type === 'unavailable') this.set(by.phone, type);
  }

  // WhatsApp keeps a subscription only as long as the connection that made it: a companion that reconnects must
  // subscribe again.
  disconnected(device: string): void {
    for (const subscribers of this.#subscribers.values()) subscribers.delete(device);
  }

  // The account goes online or offline (its phone, or one of its companions): every subscriber hears of it.
  set(phone: Phone, state: PhonePresence['state']): PhonePresence {
    phone.presence = state === 'available' ? { state } : { state, lastSeen: Math.floor(Date.now() / 1000) };
    for (const [device, jid] of this.#subscribers.get(phone.number) ?? []) this.#tell(device, jid, phone.presence);
    return phone.presence;
  }

  chatStatesOf(phone: Phone): ChatState[] {
    let states = this.#chatStates.get(phone.number);
    if (!states) this.#chatStates.set(phone.number, (states = []));
    return states;
  }

  #tell(device: string, jid: string, presence: PhonePresence): void {
    const attrs = { from: jid, type: presence.state, ...(presence.lastSeen ? { last: String(presence.lastSeen) } : {}) };
    for (const connection of this.#net.connectionsOf(device)) connection.send({ tag: 'presence', attrs });
  }
}
