import { createHash, randomBytes } from 'node:crypto';

// What a queued message says, as plain data carried by its `message.queued` event; the worker turns it into
// Baileys content when it sends. Messages it refers to (a reply, a reaction, an edit) are resolved to their
// WhatsApp keys when the request is accepted, so the job needs nothing else. Media arrives with file storage as
// further variants of this union.
export interface MessageRef {
  waMessageId: string;
  chatJid: string;
  fromMe: boolean;
  // The sender inside a group chat.
  participant?: string;
  // The text of the message referred to, for the quote shown above a reply.
  text?: string;
}

// A stored file a media message carries, as it was when the message was queued: the sender reads its bytes by
// `sha256` (the storage key), so the message does not depend on the file's row afterwards.
export interface MediaFile {
  fileId: string;
  sha256: string;
  mimetype: string;
  size: number;
  filename: string;
}

export type MediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker';
export const MEDIA_KINDS: readonly MediaKind[] = ['image', 'video', 'audio', 'document', 'sticker'];
export const MAX_CAPTION_LENGTH = 1024;

export interface MediaContent {
  type: MediaKind;
  file: MediaFile;
  caption?: string;
  // The name a document shows (default: the stored file's name).
  filename?: string;
  // A voice note (audio only): played in the chat as recorded, not as a music file.
  ptt?: boolean;
  quoted?: MessageRef;
}

// A received media message as the platform reports it.
export interface ReceivedMedia {
  type: MediaKind;
  mimetype: string;
  size: number;
  // The file its bytes are stored as once downloaded (`file_` + the received message id's own characters).
  fileId: string;
  caption?: string;
  filename?: string;
  seconds?: number;
  ptt?: boolean;
  width?: number;
  height?: number;
}

// A received message's file id is derived from the message id, so the message names its file before the download
// that stores it has run, and the file leads back to its message.
export function receivedFileIdOf(messageId: string): string {
  return `file_${messageId.replace(/^in_/, '')}`;
}

export function receivedMessageIdOf(fileId: string): string | undefined {
  return /^file_[A-Za-z0-9_-]{22}$/.test(fileId) ? `in_${fileId.slice(5)}` : undefined;
}

export type MessageContent =
  | { type: 'text'; text: string; mentions?: string[]; quoted?: MessageRef }
  | MediaContent
  | { type: 'reaction'; target: MessageRef; emoji: string }
  | { type: 'location'; latitude: number; longitude: number; name?: string; address?: string }
  | { type: 'contact'; displayName: string; phoneNumber: string }
  | { type: 'edit'; target: MessageRef; text: string }
  | { type: 'delete'; target: MessageRef };

export const MAX_TEXT_LENGTH = 4096;

// The text a message shows in history and logs.
export function summaryOf(content: MessageContent): string {
  switch (content.type) {
    case 'text':
    case 'edit':
      return content.text;
    case 'reaction':
      return content.emoji;
    case 'location':
      return content.name ?? `${content.latitude},${content.longitude}`;
    case 'contact':
      return content.displayName;
    case 'delete':
      return '';
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker':
      return content.caption ?? (content.type === 'document' ? (content.filename ?? content.file.filename) : '');
  }
}

export function isMediaContent(content: MessageContent): content is MediaContent {
  return (MEDIA_KINDS as readonly string[]).includes(content.type);
}

// Our ids: `msg_` + 22 url-safe characters. With an idempotency key the id is derived from it (per user), so
// a retried request names the same message and the event store refuses to queue it twice.
export function newMessageId(): string {
  return `msg_${randomBytes(16).toString('base64url').slice(0, 22)}`;
}

export function messageIdFor(tenantId: number, idempotencyKey: string): string {
  return `msg_${createHash('sha256').update(`${tenantId}\n${idempotencyKey}`).digest('base64url').slice(0, 22)}`;
}

// The WhatsApp id of our message, derived from our id in WhatsApp Web's own format (3EB0 + 18 hex digits).
// Every attempt to send a message uses the same id, so a retry after a crash cannot become a second message.
export function waMessageIdOf(messageId: string): string {
  return `3EB0${createHash('sha256').update(messageId).digest('hex').slice(0, 18).toUpperCase()}`;
}

// Stable fingerprint of a send request, to tell a retried request from a different one under the same key.
export function requestFingerprint(request: unknown): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('base64url').slice(0, 16);
}

// `{name}` placeholders filled from a recipient's variables. A placeholder without a value is an error for that
// recipient, not an empty gap in a customer's message.
export function renderTemplate(template: string, variables: Record<string, string | number> = {}): { text: string } | { missing: string } {
  let missing: string | undefined;
  const text = template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (placeholder, name: string) => {
    const value = variables[name];
    if (value === undefined) {
      missing ??= name;
      return placeholder;
    }
    return String(value);
  });
  return missing === undefined ? { text } : { missing };
}

export function newCampaignId(): string {
  return `cmp_${randomBytes(12).toString('base64url')}`;
}

// WhatsApp's name for a received message's content (Baileys' key, e.g. `extendedTextMessage`) in the names our
// API and seed 004 use for content (`text`, `image`, …); a kind with no name of ours keeps WhatsApp's.
const CONTENT_TYPES: Record<string, string> = {
  conversation: 'text',
  extendedTextMessage: 'text',
  imageMessage: 'image',
  videoMessage: 'video',
  ptvMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  documentWithCaptionMessage: 'document',
  stickerMessage: 'sticker',
  locationMessage: 'location',
  liveLocationMessage: 'location',
  contactMessage: 'contact',
  contactsArrayMessage: 'contact',
  reactionMessage: 'reaction',
  pollCreationMessage: 'poll',
  pollCreationMessageV2: 'poll',
  pollCreationMessageV3: 'poll',
};

export function contentTypeOf(waMessageType: string): string {
  return CONTENT_TYPES[waMessageType] ?? waMessageType;
}
