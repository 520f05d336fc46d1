import { createHash } from 'node:crypto';
import { getContentType, normalizeMessageContent, type WAMessage, type WASocket } from '@whiskeysockets/baileys';
import type { Orm } from '../../db/orm.ts';
import { accountJid } from '../../domain/contacts.ts';
import { streamOf, type DomainEvent } from '../../domain/events.ts';
import { eventIdOf } from '../../events/event-ids.ts';
import { appendToStream, sqlOf, type NewEvent } from '../../events/event-store.ts';
import type { Coordination } from '../../coordination/coordination.ts';
import type { Logger } from '../../logger.ts';
import { messageIdOfWa } from '../sending/wa-ids.ts';
import { receivedMediaOf } from './received-media.ts';

// What WhatsApp tells a session about messages, as domain events: receipts for the messages we sent (delivered,
// read, played) and the messages it receives. Baileys reports a status both in `messages.update` and folded into
// `messages.upsert` (a receipt that lands while our own message's upsert is still buffered), so both are read;
// repeats are harmless (event ids are derived from the fact, and statuses only move forward).

export interface TrackedDevice {
  id: number;
  userId: number;
  sessionId: string;
}

// WhatsApp ids of messages this process sent recently → our ids (saves a round trip on every receipt).
export class RecentSends {
  readonly #ids = new Map<string, string>();
  readonly #limit: number;
  constructor(limit = 5000) {
    this.#limit = limit;
  }
  remember(waMessageId: string, messageId: string): void {
    this.#ids.set(waMessageId, messageId);
    if (this.#ids.size > this.#limit) this.#ids.delete(this.#ids.keys().next().value!);
  }
  get(waMessageId: string): string | undefined {
    return this.#ids.get(waMessageId);
  }
}

const RECEIPT_EVENTS: Record<number, 'message.delivered' | 'message.read' | 'message.played'> = {
  3: 'message.delivered',
  4: 'message.read',
  5: 'message.played',
};

// Who sent a received message: the phone-number JID and the LID, whichever WhatsApp gave (7.x addresses many
// senders by LID and puts the other form in the key's `…Alt`). A sender named by LID alone is looked up in
// Baileys' own LID map (filled by usync answers and earlier envelopes), so the message names the number when the
// session knows it. In a one-to-one message of our own account the key names the contact the same way (the
// stanza's `recipient`, and its `peer_recipient_…` as the `…Alt`).
async function senderOf(socket: WASocket, message: WAMessage): Promise<{ from: string; fromLid?: string }> {
  const key = message.key;
  const inGroup = key.remoteJid?.endsWith('@g.us');
  const primary = (inGroup ? key.participant : key.remoteJid) ?? '';
  const alt = (inGroup ? key.participantAlt : key.remoteJidAlt) ?? undefined;
  const lid = [primary, alt].find((jid) => jid?.endsWith('@lid'));
  const pn = [primary, alt].find((jid) => jid && !jid.endsWith('@lid')) ?? (lid ? accountJid(await socket.signalRepository.lidMapping.getPNForLID(lid)) : undefined);
  return { from: pn ?? primary, ...(lid ? { fromLid: lid } : {}) };
}

// A message someone wrote, as opposed to WhatsApp's own traffic: its chat, id and content type, or undefined.
function writtenOf(message: WAMessage): { chatJid: string; waMessageId: string; messageType: string } | undefined {
  const chatJid = message.key.remoteJid;
  const waMessageId = message.key.id;
  if (!chatJid || !waMessageId || chatJid === 'status@broadcast' || !message.message) return undefined;
  const messageType = getContentType(normalizeMessageContent(message.message));
  // Protocol traffic (history sync notices, key distribution) is not a message anyone sent.
  if (!messageType || messageType === 'protocolMessage' || messageType === 'senderKeyDistributionMessage') return undefined;
  return { chatJid, waMessageId, messageType };
}

function textOf(message: WAMessage): string | undefined {
  const content = normalizeMessageContent(message.message);
  return (
    content?.conversation ??
    content?.extendedTextMessage?.text ??
    content?.imageMessage?.caption ??
    content?.videoMessage?.caption ??
    content?.documentMessage?.caption ??
    content?.reactionMessage?.text ??
    undefined
  );
}

type RawSend = (data: unknown, callback?: (err?: Error) => void) => void;

// Record before acknowledging. Baileys processes every incoming node inside its event buffer: it handles a receipt
// or a message, acknowledges it to WhatsApp (which then forgets it), and only then hands us the events. A worker
// killed in between would lose them. So a frame that leaves while Baileys holds messages or receipts we have not
// seen first makes Baileys hand them over (flushing its buffer), and every frame waits, in order, while we are still
// recording what we were handed. Wraps the `ws` socket under Baileys' client (its `send` is looked up on every
// frame). Flushing rather than waiting for Baileys to flush matters after a login: Baileys keeps its buffer open
// until the server's end-of-backlog marker (which WhatsApp sends once the backlog is acknowledged) and then through
// the initial sync (up to 20 s), so a held acknowledgement would hold up the login and every frame after it.
// Returns the function that registers work the socket must wait for.
export function holdWritesWhileRecording(socket: WASocket, logger: Logger): (work: Promise<unknown>) => void {
  const inFlight = new Set<Promise<unknown>>();
  const raw = (socket.ws as unknown as { socket?: { send: RawSend } | null }).socket;
  if (!raw) {
    logger.warn('cannot hold writes while recording (Baileys changed its socket); receipts may be lost in a crash');
  } else {
    const send: RawSend = raw.send.bind(raw);
    let queue: Promise<void> = Promise.resolve();
    let waiting = 0;
    // Messages and receipts received since Baileys last handed its buffer over (other nodes need no flush: nothing
    // of ours is in them, so a login buffer without any is left to Baileys).
    let unseen = 0;
    for (const tag of ['CB:message', 'CB:receipt']) socket.ws.on(tag, () => (unseen += 1));
    raw.send = (data, callback) => {
      if (!socket.ev.isBuffering()) unseen = 0;
      // Our handlers register what they record (below) as the events come out, before this frame is queued.
      else if (unseen > 0 && socket.ev.flush()) unseen = 0;
      if (!inFlight.size && !waiting) return send(data, callback);
      waiting += 1;
      queue = queue.then(async () => {
        await Promise.allSettled([...inFlight]);
        waiting -= 1;
        send(data, callback);
      });
    };
  }
  return (work) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
}

export interface TrackerDeps {
  device: TrackedDevice;
  orm: Orm;
  coordination: Coordination;
  logger: Logger;
  recent: RecentSends;
}

export function trackMessages(socket: WASocket, deps: TrackerDeps): void {
  const { device, orm, coordination, logger, recent } = deps;
  const metadata = { tenantId: device.userId, deviceId: device.id, sessionId: device.sessionId };
  const append = (messageId: string, event: DomainEvent, eventId: string) =>
    appendToStream(orm.em.fork(), streamOf.message(messageId), [{ event, eventId }], { expectedVersion: 'any', metadata });

  // Our id for a WhatsApp id we sent: remembered by this process, else recorded in the log by whichever process sent
  // it (the log, not a read model, which may lag behind a receipt).
  const ourIdOf = async (waMessageId: string): Promise<string | undefined> => {
    const known = recent.get(waMessageId) ?? (await messageIdOfWa(coordination, device.id, waMessageId));
    if (known) return known;
    const [row] = await sqlOf(orm.em.fork())(
      `select data->>'messageId' as message_id from events where type = 'message.sent' and device_id = ? and data->>'waMessageId' = ? limit 1`,
      [device.id, waMessageId],
    );
    return row ? String(row.message_id) : undefined;
  };

  const receipt = async (waMessageId: string | null | undefined, status: number | null | undefined, known?: string) => {
    const type = RECEIPT_EVENTS[status ?? 0];
    if (!waMessageId || !type) return;
    const messageId = known ?? (await ourIdOf(waMessageId));
    if (messageId) await append(messageId, { type, data: { messageId } }, eventIdOf(`${messageId}:${type}`));
    // Sent from the phone or another companion, not through us: not ours to report.
    else logger.debug({ deviceId: device.id, waMessageId, type }, 'receipt for a message not sent through us');
  };

  const idOf = (prefix: string, chatJid: string, waMessageId: string) =>
    `${prefix}${createHash('sha256').update(`${device.id}\n${chatJid}\n${waMessageId}`).digest('base64url').slice(0, 22)}`;

  const received = async (message: WAMessage) => {
    const written = writtenOf(message);
    if (!written) return;
    const { chatJid, waMessageId, messageType } = written;
    const messageId = idOf('in_', chatJid, waMessageId);
    const text = textOf(message);
    const sender = await senderOf(socket, message);
    const media = receivedMediaOf(message, messageId);
    const events: NewEvent[] = [
      {
        event: {
          type: 'message.received',
          data: {
            messageId,
            waMessageId,
            // A one-to-one chat is named by the contact's phone number when WhatsApp gave it, as our sends name it.
            chatJid: chatJid.endsWith('@g.us') ? chatJid : sender.from,
            ...sender,
            messageType,
            ...(text === undefined ? {} : { text }),
            ...(message.pushName ? { pushName: message.pushName } : {}),
            timestamp: Number(message.messageTimestamp ?? 0),
            ...(media ? { media: media.media } : {}),
          },
        },
        eventId: eventIdOf(messageId),
      },
    ];
    // Recorded with the message, so that its download (a job following the log) is never lost to a crash.
    if (media) events.push({ event: { type: 'message.media-received', data: { messageId, message: media.raw } }, eventId: eventIdOf(`${messageId}:media`) });
    await appendToStream(orm.em.fork(), streamOf.message(messageId), events, { expectedVersion: 'any', metadata });
  };

  // A message of ours as WhatsApp copies it to its sender's other devices: its receipt when we sent it, else what the
  // owner wrote on the phone or another companion (a person in the chat, which pauses the AI bot there).
  const sentByUs = async (message: WAMessage) => {
    const written = writtenOf(message);
    const ours = written && (await ourIdOf(written.waMessageId));
    if (!written || ours) return receipt(message.key.id, message.status, ours);
    const { waMessageId, messageType } = written;
    const messageId = idOf('own_', written.chatJid, waMessageId);
    const text = textOf(message);
    const chatJid = written.chatJid.endsWith('@g.us') ? written.chatJid : (await senderOf(socket, message)).from;
    const data = { messageId, waMessageId, chatJid, messageType, ...(text === undefined ? {} : { text }), timestamp: Number(message.messageTimestamp ?? 0) };
    await append(messageId, { type: 'message.sent-by-owner', data }, eventIdOf(messageId));
  };

  const holding = holdWritesWhileRecording(socket, logger);
  const guard = (work: Promise<unknown>) => {
    const recorded = work.catch((err) => logger.error({ err, deviceId: device.id }, 'recording a message event failed'));
    holding(recorded);
    return recorded;
  };

  socket.ev.on('messages.update', (updates) => {
    for (const { key, update } of updates) if (key.fromMe) void guard(receipt(key.id, update.status));
  });
  socket.ev.on('messages.upsert', ({ messages }) => {
    // `notify` is live traffic; `append` is what waited for us while offline.
    for (const message of messages) void guard(message.key.fromMe ? sentByUs(message) : received(message));
  });
}
