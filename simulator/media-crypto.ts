import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

// WhatsApp's media encryption, as a phone does it: a 32-byte media key expands (HKDF-SHA256, info per media type)
// into iv, cipher key and MAC key; the stored body is AES-256-CBC ciphertext followed by the first 10 bytes of
// HMAC-SHA256(macKey, iv ‖ ciphertext). Servers only ever see the body.

export type MediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker';
export const MEDIA_KINDS: readonly MediaKind[] = ['image', 'video', 'audio', 'document', 'sticker'];

// The upload paths (`/mms/<path>`): stickers travel as images.
export type MediaPath = 'image' | 'video' | 'audio' | 'document';
export const MEDIA_PATHS: readonly MediaPath[] = ['image', 'video', 'audio', 'document'];
export const pathOf = (kind: MediaKind): MediaPath => (kind === 'sticker' ? 'image' : kind);

const HKDF_INFO: Record<MediaPath, string> = {
  image: 'WhatsApp Image Keys',
  video: 'WhatsApp Video Keys',
  audio: 'WhatsApp Audio Keys',
  document: 'WhatsApp Document Keys',
};

const MAC_LENGTH = 10;

interface MediaKeys {
  iv: Buffer;
  cipherKey: Buffer;
  macKey: Buffer;
}

function keysOf(mediaKey: Uint8Array, kind: MediaKind): MediaKeys {
  const expanded = Buffer.from(hkdfSync('sha256', mediaKey, Buffer.alloc(0), HKDF_INFO[pathOf(kind)], 112));
  return { iv: expanded.subarray(0, 16), cipherKey: expanded.subarray(16, 48), macKey: expanded.subarray(48, 80) };
}

const macOf = ({ macKey, iv }: MediaKeys, ciphertext: Buffer) => createHmac('sha256', macKey).update(iv).update(ciphertext).digest().subarray(0, MAC_LENGTH);

export const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

export interface EncryptedMedia {
  mediaKey: Buffer;
  body: Buffer;
  fileSha256: Buffer;
  fileEncSha256: Buffer;
}

export function encryptMedia(plain: Buffer, kind: MediaKind): EncryptedMedia {
  const mediaKey = randomBytes(32);
  const keys = keysOf(mediaKey, kind);
  const cipher = createCipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  const body = Buffer.concat([ciphertext, macOf(keys, ciphertext)]);
  return { mediaKey, body, fileSha256: sha256(plain), fileEncSha256: sha256(body) };
}

// Checks the MAC before decrypting, as a phone must: Baileys' own download path drops it unchecked.
export function decryptMedia(body: Buffer, mediaKey: Uint8Array, kind: MediaKind): Buffer {
  if (body.length <= MAC_LENGTH) throw new Error('the body is too short to hold a MAC');
  const keys = keysOf(mediaKey, kind);
  const ciphertext = body.subarray(0, -MAC_LENGTH);
  if (!timingSafeEqual(macOf(keys, ciphertext), body.subarray(-MAC_LENGTH))) throw new Error('the MAC does not match');
  const decipher = createDecipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

const RETRY_INFO = 'WhatsApp Media Retry Notification';

// What a phone answers a media retry with: AES-256-GCM under HKDF(mediaKey, 32, RETRY_INFO), the message id as
// associated data, the tag appended to the ciphertext (Baileys' `decryptMediaRetryData`).
export function sealRetryNotification(plain: Uint8Array, mediaKey: Uint8Array, messageId: string): { ciphertext: Buffer; iv: Buffer } {
  const key = Buffer.from(hkdfSync('sha256', mediaKey, Buffer.alloc(0), RETRY_INFO, 32));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(messageId));
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return { ciphertext, iv };
}
