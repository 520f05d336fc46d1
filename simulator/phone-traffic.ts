import { generateMessageIDV2, getBinaryNodeChild, getContentType, isJidGroup, type BinaryNode, type proto } from '@whiskeysockets/baileys';
import { addressedFrom, deviceKey, endpointsOf, findPhone, jidOf, type Addressing, type Endpoint } from './directory.ts';
import { Handset, textOf, type ReceiptStatus, type SentEntry } from './handset.ts';
import { notificationKey } from './mailbox.ts';
import { mediaContentOf, mediaRetryNotification, openMedia, sealMedia, type OutgoingMedia } from './phone-media.ts';
import type { Phone } from './phones.ts';
import type { Network, Router } from './routing.ts';

// What the simulated phones do with messages: decrypt what reaches them (media downloaded and checked), keep them
// in their inbox and answer with receipts by policy; send texts and media to other accounts (and a copy to their
// own companions, as a phone does); upload their media again when a receiver asks.

// Baileys buffers its events: a receipt arriving while the upsert of the sender's own message is still buffered
// is merged into it. A real phone is never that quick; neither are ours.
export const RECEIPT_GAP_MS = 120;

const STATUS_ORDER: readonly SentEntry['status'][] = ['sent', 'delivered', 'read', 'played'];

const later = (ms: number, work: () => void) => setTimeout(work, ms).unref();

// How a phone's message reaches companions: by phone number (the default) or by LID, and with or without the
// other form alongside (WhatsApp sometimes names a sender by LID alone).
export interface PhoneSendOptions {
  addressing?: Addressing;
  withAlt?: boolean;
}

export class PhoneTraffic {
  readonly #net: Network;
  readonly #router: Router;
  readonly #handsets = new WeakMap<Phone, Handset>();

  constructor(net: Network, router: Router) {
    this.#net = net;
    this.#router = router;
  }

  handset(phone: Phone): Handset {
    let handset = this.#handsets.get(phone);
    if (!handset) this.#handsets.set(phone, (handset = new Handset(phone)));
    return handset;
  }

  receive(phone: Phone, sender: Endpoint, stanza: BinaryNode): void {
    const handset = this.handset(phone);
    handset.signal
      .open(stanza)
      .then((opened) => {
        // What its own companions sent elsewhere only keeps the phone in sync; nothing to answer.
        if (!opened || opened.fromMe) return;
        const group = isJidGroup(stanza.attrs.from) ? stanza.attrs.from : undefined;
        this.#received(phone, sender.phone, stanza.attrs.id!, Number(stanza.attrs.t), opened.message, group);
      })
      .catch((err) => this.#net.log(`phone ${phone.number} could not open ${stanza.attrs.id}: ${String(err)}`));
  }

  #received(phone: Phone, from: Phone, id: string, timestamp: number, message: proto.IMessage, group?: string): void {
    const handset = this.handset(phone);
    const type = getContentType(message);
    // Sender-key distribution and the like are plumbing, not something the user receives.
    if (type && type !== 'senderKeyDistributionMessage') {
      const text = textOf(message) ?? '';
      const opened = openMedia(this.#net.media, message);
      if (opened?.bytes) handset.mediaFiles.set(id, { bytes: opened.bytes, mimetype: opened.media.mimetype });
      const media = opened ? { media: opened.media } : {};
      handset.inbox.push({ from: from.jid, id, timestamp, receivedAt: Date.now(), text, type, message, ...(group ? { group } : {}), ...media });
    }
    const { policy, delayMs } = handset.receipts;
    const me = { phone, device: 0 };
    if (policy === 'none') return;
    later(RECEIPT_GAP_MS, () => this.#router.report(me, id, 'delivered'));
    if (policy === 'read') later(RECEIPT_GAP_MS + delayMs, () => this.#router.report(me, id, 'read'));
  }

  // The router reports each recipient's furthest status once; in a group, members report apart, and the message
  // shows the furthest any of them reached.
  onReceipt(phone: Phone, id: string, status: ReceiptStatus): void {
    const sent = this.handset(phone).sent.get(id);
    if (sent && STATUS_ORDER.indexOf(status) > STATUS_ORDER.indexOf(sent.status)) sent.status = status;
  }

  // The phone's user sends a text to a number or jid; returns the message id.
  send(phone: Phone, to: string, text: string, options?: PhoneSendOptions): string {
    const id = generateMessageIDV2(phone.jid);
    this.#send(phone, this.#recipient(to), id, { conversation: text }, text, options);
    return id;
  }

  // The phone's user sends a photo, video, voice note, audio, document or sticker; returns the message id.
  sendMedia(phone: Phone, to: string, media: OutgoingMedia, options?: PhoneSendOptions): string {
    const recipient = this.#recipient(to);
    const id = generateMessageIDV2(phone.jid);
    const { message, sent } = sealMedia(this.#net.media, media);
    this.handset(phone).sentMedia.set(id, sent);
    this.#send(phone, recipient, id, message, media.caption ?? '', options, media.kind);
    return id;
  }

  // The phone's user writes into a group it is in: every other member's phone gets the text, and every companion
  // of every member (the sender's own too) gets it as WhatsApp delivers group messages — one `skmsg` under the
  // phone's sender key, preceded for a device that has not had the key by its distribution message. Members are
  // named as the group addresses them (PN, with the LID alongside). Returns the message id.
  sendToGroup(phone: Phone, groupJid: string, text: string): string {
    const group = this.#net.groups.get(groupJid);
    if (!group) throw new Error(`no group ${groupJid}`);
    if (!group.participants.includes(phone)) throw new Error(`${phone.number} is not in ${groupJid}`);
    const id = generateMessageIDV2(phone.jid);
    const message: proto.IMessage = { conversation: text };
    const timestamp = Math.floor(Date.now() / 1000);
    const sender = { phone, device: 0 };
    this.handset(phone).sent.set(id, { id, to: group.jid, text, timestamp, status: 'sent' });
    this.#router.track(id, { sender, addressing: 'pn', group: group.jid });
    for (const member of group.participants) if (member !== phone) this.#received(member, phone, id, timestamp, message, group.jid);
    const companions = group.participants.flatMap((p) => endpointsOf(this.#net, p)).filter((e) => e.device !== 0);
    const devices = companions.map((endpoint) => ({ endpoint, jid: jidOf(endpoint.phone, 'lid', endpoint.device), bundle: () => this.#net.prekeys.take(deviceKey(endpoint)) }));
    this.handset(phone)
      .signal.sealGroup(group.jid, message, devices)
      .then(({ ciphertext, keys }) => {
        const skmsg: BinaryNode = { tag: 'enc', attrs: { v: '2', type: 'skmsg' }, content: ciphertext };
        for (const { endpoint, jid } of devices) {
          const key = keys.get(jid);
          const enc = key ? [{ tag: 'enc', attrs: { v: '2', type: key.type }, content: key.ciphertext }, skmsg] : [skmsg];
          const stanza = { tag: 'message', attrs: { id, t: String(timestamp), type: 'text', from: group.jid }, content: enc };
          this.#router.deliver(endpoint, sender, stanza, addressedFrom(sender, 'participant'));
        }
      })
      .catch((err) => this.#net.log(`phone ${phone.number} could not seal ${id} for ${group.jid}: ${String(err)}`));
    return id;
  }

  #recipient(to: string): Phone {
    const recipient = findPhone(this.#net, to.includes('@') ? to : `${to}@s.whatsapp.net`);
    if (!recipient) throw new Error(`${to} is not on WhatsApp here`);
    return recipient;
  }

  #send(phone: Phone, recipient: Phone, id: string, message: proto.IMessage, text: string, { addressing = 'pn', withAlt = true }: PhoneSendOptions = {}, media?: SentEntry['media']): void {
    const timestamp = Math.floor(Date.now() / 1000);
    const sender = { phone, device: 0 };
    this.handset(phone).sent.set(id, { id, to: recipient.jid, text, timestamp, status: 'sent', ...(media ? { media } : {}) });
    this.#router.track(id, { sender, addressing });
    // The phone's user is not held to the account's reach-out limits, but their chats are the account's.
    if (recipient !== phone) this.#net.reachOut.exchanged(phone.jid, recipient.jid);
    // Between two simulated phones there is nobody to watch the wire: the message is handed over as is.
    if (recipient !== phone) this.#received(recipient, phone, id, timestamp, message);
    const copy: proto.IMessage = { deviceSentMessage: { destinationJid: recipient.jid, message } };
    const companions = [
      ...endpointsOf(this.#net, recipient).map((endpoint) => ({ endpoint, message })),
      ...(recipient !== phone ? endpointsOf(this.#net, phone).map((endpoint) => ({ endpoint, message: copy })) : []),
    ].filter(({ endpoint }) => endpoint.device !== 0);
    const kind = { type: mediaContentOf(message) ? 'media' : 'text' };
    for (const { endpoint, message: content } of companions) void this.#seal(sender, endpoint, id, timestamp, content, kind, recipient, { addressing, withAlt });
  }

  // A companion of `by`'s account cannot download media (`updateMediaMessage`): the phone that sent it — the other
  // account's, or for its own account's message, `by`'s own — uploads it again and says where.
  mediaRetry(by: Endpoint, receipt: BinaryNode): void {
    const rmr = getBinaryNodeChild(receipt, 'rmr');
    const origin = rmr?.attrs.from_me === 'true' ? by.phone : findPhone(this.#net, rmr?.attrs.jid);
    const sent = origin ? this.handset(origin).sentMedia.get(receipt.attrs.id!) : undefined;
    const notification = mediaRetryNotification(this.#net.media, receipt, sent, jidOf(by.phone, 'pn'));
    this.#router.toCompanion(by, notificationKey(receipt.attrs.id!), notification);
  }

  // The phone tells one of its own companions something about the account itself (app-state keys): WhatsApp marks
  // it `category="peer"`, and Baileys acts on such a message only when it comes from its own account. Settles once
  // the message is in the companion's mailbox: true, or false when it could not be encrypted for it.
  peer(phone: Phone, companion: Endpoint, message: proto.IMessage): Promise<boolean> {
    const id = generateMessageIDV2(phone.jid);
    return this.#seal({ phone, device: 0 }, companion, id, Math.floor(Date.now() / 1000), message, { type: 'protocol', category: 'peer' }, undefined, { addressing: 'pn', withAlt: true });
  }

  #seal(
    sender: Endpoint,
    endpoint: Endpoint,
    id: string,
    timestamp: number,
    message: proto.IMessage,
    kind: Record<string, string>,
    recipient: Phone | undefined,
    how: Required<PhoneSendOptions>,
  ): Promise<boolean> {
    const { phone } = sender;
    const bundle = () => this.#net.prekeys.take(deviceKey(endpoint));
    return this.handset(phone)
      .signal.seal(jidOf(endpoint.phone, 'lid', endpoint.device), message, bundle)
      .then((sealed) => {
        if (!sealed) {
          this.#net.log(`phone ${phone.number}: no keys for ${deviceKey(endpoint)}`);
          return false;
        }
        const own = endpoint.phone === phone ? recipient : undefined;
        const enc: BinaryNode = { tag: 'enc', attrs: { v: '2', type: sealed.type }, content: sealed.ciphertext };
        const addressed = addressedFrom(sender, 'sender', own);
        const alt = (a: Addressing) => `${own ? 'peer_recipient' : 'sender'}_${a === 'pn' ? 'lid' : 'pn'}`;
        const named = how.withAlt ? addressed : (a: Addressing) => Object.fromEntries(Object.entries(addressed(a)).filter(([k]) => k !== alt(a)));
        this.#router.deliver(endpoint, sender, { tag: 'message', attrs: { id, t: String(timestamp), ...kind }, content: [enc] }, named, how.addressing);
        return true;
      })
      .catch((err) => {
        this.#net.log(`phone ${phone.number} could not seal ${id}: ${String(err)}`);
        return false;
      });
  }
}
