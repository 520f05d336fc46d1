import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { generateWAMessageFromContent, prepareWAMessageMedia, proto, type AnyMediaMessageContent, type WASocket } from '@whiskeysockets/baileys';
import type { MediaContent, MessageRef } from '../../domain/messages.ts';
import { blobKeyOf, type FileStorage } from '../../files/storage.ts';
import type { Logger } from '../../logger.ts';
import { prepareMedia, type PreparedMedia, type SendKind } from '../../media/prepare.ts';
import { quotedOf } from './baileys-content.ts';
import { scratchDir } from '../../files/scratch.ts';

// A media message's WhatsApp content: its file read from storage into a scratch directory, converted where
// WhatsApp needs it (src/media), encrypted and uploaded by Baileys. The result (with the media key and the
// upload's address) is what the sender records, so a later attempt relays the same upload instead of making another.

const UPLOAD_TIMEOUT_MS = 120_000;

export function sendKindOf(content: MediaContent): SendKind {
  return content.type === 'audio' && content.ptt ? 'voice' : content.type;
}

function baileysContent(content: MediaContent, prepared: PreparedMedia): AnyMediaMessageContent {
  const media = { url: prepared.path };
  const dimensions = prepared.width && prepared.height ? { width: prepared.width, height: prepared.height } : {};
  // Baileys' content types name the thumbnail a string, but it goes to the protobuf as bytes: a Buffer is what it wants.
  const thumbnail = prepared.jpegThumbnail ? { jpegThumbnail: prepared.jpegThumbnail as unknown as string } : {};
  const caption = content.caption ? { caption: content.caption } : {};
  switch (content.type) {
    case 'image':
      // An animated GIF goes as a looping video, as WhatsApp's own apps send it.
      return prepared.gifPlayback
        ? { video: media, gifPlayback: true, mimetype: prepared.mimetype, ...caption, ...thumbnail, ...dimensions, ...seconds(prepared) }
        : { image: media, mimetype: prepared.mimetype, ...caption, ...thumbnail, ...dimensions };
    case 'video':
      return { video: media, mimetype: prepared.mimetype, ...caption, ...thumbnail, ...dimensions, ...seconds(prepared) };
    case 'audio':
      return {
        audio: media,
        mimetype: prepared.mimetype,
        ...(content.ptt ? { ptt: true } : {}),
        ...(prepared.seconds ? { seconds: prepared.seconds } : {}),
        ...(prepared.waveform ? ({ waveform: prepared.waveform } as object) : {}),
      };
    case 'sticker':
      return { sticker: media, mimetype: prepared.mimetype, ...(prepared.isAnimated ? { isAnimated: true } : {}), ...dimensions };
    case 'document':
      return { document: media, mimetype: prepared.mimetype, fileName: content.filename ?? content.file.filename, ...caption };
  }
}

// Baileys computes no video duration itself; the protobuf field is `seconds`.
const seconds = (prepared: PreparedMedia) => (prepared.seconds ? ({ seconds: prepared.seconds } as object) : {});

export interface MediaUpload {
  message: proto.IMessage;
  // What was uploaded (after conversion).
  mimetype: string;
  size: number;
}

export async function uploadMedia(socket: WASocket, to: string, content: MediaContent, storage: FileStorage, logger: Logger): Promise<MediaUpload> {
  const dir = await scratchDir('send');
  try {
    const input = join(dir, 'original');
    await pipeline(await storage.get(blobKeyOf(content.file.sha256)), createWriteStream(input));
    const prepared = await prepareMedia(sendKindOf(content), input, content.file.mimetype, dir);
    const message = await prepareWAMessageMedia(baileysContent(content, prepared), {
      upload: socket.waUploadToServer,
      logger: logger as never,
      jid: to,
      mediaUploadTimeoutMs: UPLOAD_TIMEOUT_MS,
    });
    return { message, mimetype: prepared.mimetype, size: prepared.size };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Hands an uploaded media message to WhatsApp under our id (what sendMessage does after its own upload).
export async function relayMedia(socket: WASocket, to: string, message: proto.IMessage, waMessageId: string, quoted?: MessageRef): Promise<void> {
  const full = generateWAMessageFromContent(to, message, { userJid: socket.user!.id, messageId: waMessageId, ...(quoted ? { quoted: quotedOf(quoted) } : {}) });
  await socket.relayMessage(to, full.message!, { messageId: waMessageId });
}

// The upload as the message's log keeps it (protobuf, base64), and back.
export const encodeUpload = (message: proto.IMessage): string => Buffer.from(proto.Message.encode(message).finish()).toString('base64');
export const decodeUpload = (text: string): proto.IMessage => proto.Message.decode(Buffer.from(text, 'base64'));
