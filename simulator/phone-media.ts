import { getBinaryNodeChild, normalizeMessageContent, proto, type BinaryNode } from '@whiskeysockets/baileys';
import { decryptMedia, encryptMedia, pathOf, sha256, sealRetryNotification, type MediaKind } from './media-crypto.ts';
import type { DownloadFailure, MediaStore } from './media-store.ts';

// What a simulated phone does with media: opens what it receives (download from the store, MAC, decrypt, then
// the declared hash and length), builds the message for what its user sends, and re-uploads on a media retry.

// A received media message as the phone's inbox shows it. `sha256` is the hex of the decrypted bytes ('' when
// they could not be decrypted); `verified` that MAC, hash and length all held, else `error` says what did not.
export interface InboxMedia {
  kind: MediaKind;
  mimetype: string;
  caption?: string;
  fileName?: string;
  ptt?: boolean;
  seconds?: number;
  width?: number;
  height?: number;
  fileLength: number;
  sha256: string;
  verified: boolean;
  error?: string;
}

type MediaContent = proto.Message.IImageMessage & proto.Message.IVideoMessage & proto.Message.IAudioMessage & proto.Message.IDocumentMessage & proto.Message.IStickerMessage;

const FIELD: Record<MediaKind, 'imageMessage' | 'videoMessage' | 'audioMessage' | 'documentMessage' | 'stickerMessage'> = {
  image: 'imageMessage',
  video: 'videoMessage',
  audio: 'audioMessage',
  document: 'documentMessage',
  sticker: 'stickerMessage',
};
const KINDS = Object.entries(FIELD) as [MediaKind, (typeof FIELD)[MediaKind]][];

// The media in a message, wrappers (document with caption, view once, ephemeral) unwrapped.
export function mediaContentOf(message: proto.IMessage): { kind: MediaKind; content: MediaContent } | undefined {
  const inner = normalizeMessageContent(message);
  for (const [kind, field] of KINDS) {
    const content = inner?.[field];
    if (content) return { kind, content: content as MediaContent };
  }
  return undefined;
}

const optional = <K extends string, V>(key: K, value: V | null | undefined) => (value === null || value === undefined ? {} : ({ [key]: value } as { [P in K]: V }));

// Downloads, checks and decrypts the media of a received message. Undefined for a message without media.
export function openMedia(store: MediaStore, message: proto.IMessage): { media: InboxMedia; bytes?: Buffer } | undefined {
  const found = mediaContentOf(message);
  if (!found) return undefined;
  const { kind, content } = found;
  const fileLength = Number(content.fileLength ?? 0);
  const described = {
    kind,
    mimetype: content.mimetype ?? '',
    ...optional('caption', content.caption),
    ...optional('fileName', content.fileName),
    ...optional('ptt', content.ptt),
    ...optional('seconds', content.seconds),
    ...optional('width', content.width),
    ...optional('height', content.height),
    fileLength,
  };
  const failed = (error: string, bytes?: Buffer) => ({
    media: { ...described, sha256: bytes ? sha256(bytes).toString('hex') : '', verified: false, error },
    ...(bytes ? { bytes } : {}),
  });
  const directPath = content.directPath ?? (content.url ? new URL(content.url).pathname : undefined);
  if (!directPath || !content.mediaKey) return failed('the message has no direct path or media key');
  const blob = store.read(directPath);
  if (!blob) return failed(`nothing stored at ${directPath}`);
  if (content.fileEncSha256 && !sha256(blob.body).equals(Buffer.from(content.fileEncSha256))) return failed('fileEncSha256 does not match the stored body');
  let bytes: Buffer;
  try {
    bytes = decryptMedia(blob.body, content.mediaKey, kind);
  } catch (err) {
    return failed(err instanceof Error ? err.message : String(err));
  }
  if (!content.fileSha256 || !sha256(bytes).equals(Buffer.from(content.fileSha256))) return failed('fileSha256 does not match the decrypted bytes', bytes);
  if (bytes.length !== fileLength) return failed(`fileLength ${fileLength} is not the ${bytes.length} bytes decrypted`, bytes);
  return { media: { ...described, sha256: sha256(bytes).toString('hex'), verified: true }, bytes };
}

export interface OutgoingMedia {
  kind: MediaKind;
  data: Buffer;
  mimetype: string;
  caption?: string;
  fileName?: string;
  ptt?: boolean;
  // The stored body answers downloads with this status until the phone re-uploads it on a media retry.
  downloadStatus?: DownloadFailure;
}

// What the phone keeps of media it sent, to upload again when a receiver asks.
export interface SentMedia {
  kind: MediaKind;
  mediaKey: Buffer;
  body: Buffer;
}

// Encrypts and stores the user's media, and builds the message that carries it.
export function sealMedia(store: MediaStore, media: OutgoingMedia): { message: proto.IMessage; sent: SentMedia } {
  const { mediaKey, body, fileSha256, fileEncSha256 } = encryptMedia(media.data, media.kind);
  const directPath = store.put(body, pathOf(media.kind), media.downloadStatus);
  const content: MediaContent = {
    url: store.urlOf(directPath),
    directPath,
    mediaKey,
    fileSha256,
    fileEncSha256,
    fileLength: media.data.length,
    mimetype: media.mimetype,
    mediaKeyTimestamp: Math.floor(Date.now() / 1000),
    ...optional('caption', media.kind === 'image' || media.kind === 'video' || media.kind === 'document' ? media.caption : undefined),
    ...optional('fileName', media.kind === 'document' ? (media.fileName ?? 'file') : undefined),
    ...optional('ptt', media.kind === 'audio' ? media.ptt : undefined),
  };
  return { message: { [FIELD[media.kind]]: content }, sent: { kind: media.kind, mediaKey, body } };
}

// The answer to a companion's media retry (`<receipt type="server-error">` with `<rmr>`): the body stored again at
// a fresh path, announced in `<notification type="mediaretry">` sealed under the media key; or, for media the
// phone does not have, an error Baileys turns into a 404.
export function mediaRetryNotification(store: MediaStore, receipt: BinaryNode, sent: SentMedia | undefined, from: string): BinaryNode {
  const id = receipt.attrs.id!;
  const rmr = getBinaryNodeChild(receipt, 'rmr');
  const attrs = { id, type: 'mediaretry', from, t: String(Math.floor(Date.now() / 1000)) };
  const rmrNode: BinaryNode = { tag: 'rmr', attrs: { ...rmr?.attrs } };
  if (!sent) {
    return { tag: 'notification', attrs, content: [rmrNode, { tag: 'error', attrs: { code: String(proto.MediaRetryNotification.ResultType.NOT_FOUND) } }] };
  }
  const directPath = store.put(sent.body, pathOf(sent.kind));
  const plain = proto.MediaRetryNotification.encode({ stanzaId: id, directPath, result: proto.MediaRetryNotification.ResultType.SUCCESS }).finish();
  const { ciphertext, iv } = sealRetryNotification(plain, sent.mediaKey, id);
  const encrypt: BinaryNode = {
    tag: 'encrypt',
    attrs: {},
    content: [
      { tag: 'enc_p', attrs: {}, content: ciphertext },
      { tag: 'enc_iv', attrs: {}, content: iv },
    ],
  };
  return { tag: 'notification', attrs, content: [encrypt, rmrNode] };
}
