import { getBinaryNodeChild, getBinaryNodeChildren, isJidGroup, type BinaryNode } from '@whiskeysockets/baileys';
import { addressedFrom, addressingOf, deviceKey, endpointsOf, findEndpoint, findPhone, jidOf, type Addressing, type Directory, type Endpoint } from './directory.ts';
import type { GroupStore } from './groups.ts';
import type { MediaStore } from './media-store.ts';
import type { ReceiptStatus } from './handset.ts';
import { Mailbox, messageKey, notificationKey, receiptKey } from './mailbox.ts';
import { PhoneTraffic } from './phone-traffic.ts';
import type { Phone } from './phones.ts';
import type { PreKeyStore } from './prekeys.ts';
import type { ReachOutBook } from './reach-out.ts';

// Message routing: a device's `<message>` is acked and fanned out — one `<enc>` per addressed device, each
// delivered in the shape Baileys' receive path expects; receipts travel back to the device that sent. Companions
// get everything through their mailbox (store-and-forward); the phones (device 0) are simulated in-process.

export interface Network extends Directory {
  connectionsOf(jid: string): { send(node: BinaryNode): void }[];
  readonly prekeys: PreKeyStore;
  readonly groups: GroupStore;
  readonly media: MediaStore;
  readonly reachOut: ReachOutBook;
  // Closes every companion of an account WhatsApp has just restricted.
  shutOut(phone: Phone): void;
  log(line: string): void;
}

type Reply = (node: BinaryNode) => void;

interface Sent {
  sender: Endpoint;
  addressing: Addressing;
  group?: string;
  // The furthest status reported per recipient account, so each is reported once and never goes back.
  ranks: Map<string, number>;
}

const RANK: Record<ReceiptStatus, number> = { delivered: 1, read: 2, played: 3 };
// Enough to match receipts to the messages of a long benchmark; older ones are forgotten.
const SENT_REMEMBERED = 50_000;

// How long the end-of-backlog marker waits for a companion to acknowledge what it got at login.
const BACKLOG_WAIT_MS = 2000;

const now = () => String(Math.floor(Date.now() / 1000));

// Attributes that say what a message is and travel with it to each device.
const PASSED_ON = ['type', 'edit', 'category'] as const;

function statusOf(receiptType: string | undefined): ReceiptStatus | undefined {
  // A client not marked online says `inactive`; the server passes it on as a plain delivery.
  if (receiptType === undefined || receiptType === 'inactive') return 'delivered';
  if (receiptType === 'read' || receiptType === 'played') return receiptType;
  return undefined;
}

export class Router {
  readonly mailbox = new Mailbox();
  readonly phones: PhoneTraffic;
  readonly #net: Network;
  readonly #sent = new Map<string, Sent>();
  // Per companion that just logged in: what it got at login and has not acknowledged yet.
  readonly #backlogs = new Map<string, Set<string>>();

  constructor(net: Network) {
    this.#net = net;
    this.phones = new PhoneTraffic(net, this);
  }

  track(id: string, sent: Omit<Sent, 'ranks'>): void {
    this.#sent.set(id, { ...sent, ranks: new Map() });
    if (this.#sent.size > SENT_REMEMBERED) this.#sent.delete(this.#sent.keys().next().value!);
  }

  onMessage(sender: Endpoint, node: BinaryNode, reply: Reply): void {
    const { id, to } = node.attrs;
    if (!id || !to) return;
    const chat = node.attrs.recipient ?? to;
    // The account at the other end of a one-to-one chat (none for a group); the sender's own for peer messages.
    const contact = findPhone(this.#net, chat);
    const verdict = contact && contact !== sender.phone ? this.#net.reachOut.send(sender.phone.jid, contact.jid, id, Date.now()) : 'pass';
    // Refused the way WhatsApp refuses it: an error ack, which Baileys turns into status ERROR with '463'.
    reply({ tag: 'ack', attrs: { id, class: 'message', from: to, t: now(), ...(verdict === 'pass' ? {} : { error: '463' }) } });
    if (verdict === 'restrict') this.#net.shutOut(sender.phone);
    if (verdict !== 'pass') return;
    const group = isJidGroup(to) ? this.#net.groups.get(to) : undefined;
    const addressing = addressingOf(chat);
    // A resend (after a retry receipt) keeps its id, and what was already reported stays reported.
    if (!this.#sent.has(id)) this.track(id, { sender, addressing, ...(group ? { group: group.jid } : {}) });
    const base = Object.fromEntries(PASSED_ON.flatMap((name) => (node.attrs[name] ? [[name, node.attrs[name]]] : [])));
    const deviceIdentity = getBinaryNodeChild(node, 'device-identity');
    const content = (enc: BinaryNode[]) => (deviceIdentity && enc.some((e) => e.attrs.type === 'pkmsg') ? [...enc, deviceIdentity] : enc);
    const addressed = new Map<string, { endpoint: Endpoint; enc: BinaryNode }>();
    for (const target of getBinaryNodeChildren(getBinaryNodeChild(node, 'participants'), 'to')) {
      const endpoint = findEndpoint(this.#net, target.attrs.jid ?? '');
      const enc = getBinaryNodeChild(target, 'enc');
      if (endpoint && enc) addressed.set(deviceKey(endpoint), { endpoint, enc });
    }
    const direct = getBinaryNodeChildren(node, 'enc');

    if (group) {
      // Everyone's devices get the group ciphertext; those still without the sender key get it alongside.
      for (const endpoint of group.participants.flatMap((p) => endpointsOf(this.#net, p))) {
        if (deviceKey(endpoint) === deviceKey(sender)) continue;
        const keyFor = addressed.get(deviceKey(endpoint))?.enc;
        const enc = keyFor ? [keyFor, ...direct] : direct;
        this.deliver(endpoint, sender, { tag: 'message', attrs: { ...base, id, t: now(), from: group.jid }, content: content(enc) }, addressedFrom(sender, 'participant'));
      }
      return;
    }
    // One `<enc>` without `<participants>` is for exactly the device in `to` (a retry, or a peer message).
    const targets = direct.length ? [{ endpoint: findEndpoint(this.#net, to), enc: direct[0]! }] : [...addressed.values()];
    for (const { endpoint, enc } of targets) {
      if (!endpoint) continue;
      const own = endpoint.phone === sender.phone;
      this.deliver(endpoint, sender, { tag: 'message', attrs: { ...base, id, t: now() }, content: content([enc]) }, addressedFrom(sender, 'sender', own ? contact : undefined), addressing);
    }
  }

  // `addressed(a)` completes the stanza's attributes for the addressing it is delivered in: the one the sender
  // used, except that simulated phones always get LIDs (their Signal sessions are kept by LID).
  deliver(endpoint: Endpoint, sender: Endpoint, stanza: BinaryNode, addressed: (a: Addressing) => Record<string, string>, addressing: Addressing = 'pn'): void {
    if (endpoint.device === 0) {
      this.phones.receive(endpoint.phone, sender, { ...stanza, attrs: { ...stanza.attrs, ...addressed('lid') } });
      return;
    }
    // Like WhatsApp, the server names the sender's account as its user called it (`notify`: the push name).
    const notify: Record<string, string> = sender.phone.pushName ? { notify: sender.phone.pushName } : {};
    this.toCompanion(endpoint, messageKey(stanza.attrs.id!), { ...stanza, attrs: { ...stanza.attrs, ...notify, ...addressed(addressing) } });
  }

  toCompanion(endpoint: Endpoint, key: string, stanza: BinaryNode): void {
    const device = deviceKey(endpoint);
    this.mailbox.put(device, key, stanza);
    for (const connection of this.#net.connectionsOf(device)) connection.send(stanza);
  }

  onReceipt(by: Endpoint, node: BinaryNode, reply: Reply): void {
    const { id, type } = node.attrs;
    if (!id) return;
    reply({ tag: 'ack', attrs: { id, class: 'receipt', from: node.attrs.to ?? 's.whatsapp.net', ...(type ? { type } : {}) } });
    const ids = [id, ...getBinaryNodeChildren(getBinaryNodeChild(node, 'list'), 'item').flatMap((item) => item.attrs.id ?? [])];
    for (const each of ids) this.#acknowledged(by, messageKey(each));
    if (type === 'retry') return this.#forwardRetry(by, node);
    if (type === 'server-error' && getBinaryNodeChild(node, 'rmr')) return this.phones.mediaRetry(by, node);
    const status = statusOf(type);
    if (status) for (const each of ids) this.report(by, each, status);
  }

  // A client's `<ack>`: for a receipt or notification we forwarded, or a nack for a message it could not take.
  onAck(by: Endpoint, node: BinaryNode): void {
    const { id, class: kind, type } = node.attrs;
    if (!id) return;
    if (kind === 'receipt') this.#acknowledged(by, receiptKey(id, type));
    if (kind === 'message') this.#acknowledged(by, messageKey(id));
    if (kind === 'notification') this.#acknowledged(by, notificationKey(id));
  }

  #acknowledged(by: Endpoint, key: string): void {
    const device = deviceKey(by);
    this.mailbox.remove(device, key);
    this.#backlogs.get(device)?.delete(key);
  }

  // One of `by`'s devices received (or read, or played) message `id`: tell the device that sent it.
  report(by: Endpoint, id: string, status: ReceiptStatus): void {
    const sent = this.#sent.get(id);
    if (!sent || sent.sender.phone === by.phone) return;
    if ((sent.ranks.get(by.phone.number) ?? 0) >= RANK[status]) return;
    sent.ranks.set(by.phone.number, RANK[status]);
    if (sent.sender.device === 0) return this.phones.onReceipt(sent.sender.phone, id, status);
    const who = jidOf(by.phone, sent.addressing);
    const type = status === 'delivered' ? undefined : status;
    const attrs = { id, t: now(), ...(sent.group ? { from: sent.group, participant: who } : { from: who }), ...(type ? { type } : {}) };
    this.toCompanion(sent.sender, receiptKey(id, type), { tag: 'receipt', attrs });
  }

  #forwardRetry(by: Endpoint, node: BinaryNode): void {
    const sent = this.#sent.get(node.attrs.id!);
    if (!sent || sent.sender.device === 0) return;
    const who = jidOf(by.phone, sent.addressing, by.device);
    const attrs = { id: node.attrs.id!, t: now(), type: 'retry', ...(sent.group ? { from: sent.group, participant: who } : { from: who }) };
    this.toCompanion(sent.sender, receiptKey(attrs.id, 'retry'), { tag: 'receipt', attrs, ...(node.content ? { content: node.content } : {}) });
  }

  // At login a companion gets what waited for it, marked offline, then `<ib><offline count>`. That marker makes
  // Baileys flush its event buffer and start another (awaiting history sync), in which events not caused by a
  // later stanza sit for 20 s; so it is sent once the backlog is acknowledged, i.e. processed.
  onLogin(endpoint: Endpoint, connection: { send(node: BinaryNode): void }): void {
    const device = deviceKey(endpoint);
    const pending = this.mailbox.pending(device);
    for (const [, node] of pending) connection.send({ ...node, attrs: { ...node.attrs, offline: '1' } });
    const backlog = new Set(pending.map(([key]) => key));
    this.#backlogs.set(device, backlog);
    const started = Date.now();
    const markEnd = () => {
      if (backlog.size && Date.now() - started < BACKLOG_WAIT_MS) return void setTimeout(markEnd, 10).unref();
      if (this.#backlogs.get(device) === backlog) this.#backlogs.delete(device);
      connection.send({ tag: 'ib', attrs: { from: 's.whatsapp.net' }, content: [{ tag: 'offline', attrs: { count: String(pending.length) } }] });
    };
    markEnd();
  }

  unlinked(device: string): void {
    this.mailbox.forget(device);
    this.#net.prekeys.forget(device);
  }
}
