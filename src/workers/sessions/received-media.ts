import { normalizeMessageContent, proto, type WAMessage } from '@whiskeysockets/baileys';
import { receivedFileIdOf, type MediaKind, type ReceivedMedia } from '../../domain/messages.ts';

// The media of a received message, as its `message.received` event reports it, and the WhatsApp message the
// download job needs (kept in the log apart from the report: it carries the media key).

type MediaMessage = proto.Message.IImageMessage &
  proto.Message.IVideoMessage &
  proto.Message.IAudioMessage &
  proto.Message.IDocumentMessage &
  proto.Message.IStickerMessage;

// WhatsApp's message fields per kind, in the order looked at (a document with a caption wraps a document).
const FIELDS: [keyof proto.IMessage, MediaKind][] = [
  ['imageMessage', 'image'],
  ['videoMessage', 'video'],
  ['ptvMessage', 'video'],
  ['audioMessage', 'audio'],
  ['documentMessage', 'document'],
  ['stickerMessage', 'sticker'],
];

export function mediaPartOf(message: proto.IMessage | null | undefined): { kind: MediaKind; part: MediaMessage; field: keyof proto.IMessage } | undefined {
  let content = normalizeMessageContent(message);
  if (content?.documentWithCaptionMessage?.message) content = content.documentWithCaptionMessage.message;
  for (const [field, kind] of FIELDS) {
    const part = content?.[field] as MediaMessage | null | undefined;
    if (part && (part.directPath || part.url) && part.mediaKey) return { kind, part, field };
  }
  return undefined;
}

const int = (value: number | { toNumber(): number } | null | undefined) =>
  value === null || value === undefined ? undefined : typeof value === 'number' ? value : value.toNumber();

export function receivedMediaOf(message: WAMessage, messageId: string): { media: ReceivedMedia; raw: string } | undefined {
  const found = mediaPartOf(message.message);
  if (!found) return undefined;
  const { kind, part } = found;
  const media: ReceivedMedia = {
    type: kind,
    mimetype: part.mimetype ?? 'application/octet-stream',
    size: int(part.fileLength) ?? 0,
    fileId: receivedFileIdOf(messageId),
    ...(part.caption ? { caption: part.caption } : {}),
    ...(part.fileName ? { filename: part.fileName } : {}),
    ...(part.seconds ? { seconds: part.seconds } : {}),
    ...(part.ptt ? { ptt: true } : {}),
    ...(part.width && part.height ? { width: part.width, height: part.height } : {}),
  };
  return { media, raw: encodeReceived(message) };
}

export const encodeReceived = (message: WAMessage): string => Buffer.from(proto.WebMessageInfo.encode(message).finish()).toString('base64');
// The key's Baileys-only fields (`remoteJidAlt`…) are not in the protobuf; a download and a media retry need only
// the ones that are (chat, id, fromMe, participant).
export const decodeReceived = (text: string): WAMessage => proto.WebMessageInfo.decode(Buffer.from(text, 'base64')) as WAMessage;
