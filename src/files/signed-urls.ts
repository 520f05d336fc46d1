import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.ts';

// Links to a file that work without credentials for a while: seed 004's preview needs no auth, and webhook receivers
// fetch received media with no API token. Each names one file, one purpose and an expiry, signed with a key of its
// own derived from ENCRYPTION_KEY; ids alone open nothing.

export type FileLinkPurpose = 'preview' | 'download';

const keys = new WeakMap<Buffer, Buffer>();
function keyOf(encryptionKey: Buffer): Buffer {
  let key = keys.get(encryptionKey);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'wa-platform file links', 32));
    keys.set(encryptionKey, key);
  }
  return key;
}

const signatureOf = (key: Buffer, fileId: string, purpose: FileLinkPurpose, expires: number) =>
  createHmac('sha256', key).update(`${purpose}\n${fileId}\n${expires}`).digest('base64url');

export function signedFileUrl(config: Config, fileId: string, purpose: FileLinkPurpose, now: Date, ttlMs = config.files.signedUrlTtlMs): string {
  const expires = Math.floor((now.getTime() + ttlMs) / 1000);
  const signature = signatureOf(keyOf(config.encryptionKey), fileId, purpose, expires);
  return `${config.publicUrl ?? ''}/api/whatsapp/files/${encodeURIComponent(fileId)}/${purpose}?expires=${expires}&signature=${signature}`;
}

export type LinkCheck = 'valid' | 'expired' | 'invalid';

export function checkFileLink(config: Config, fileId: string, purpose: FileLinkPurpose, expires: number, signature: string, now: Date): LinkCheck {
  const expected = Buffer.from(signatureOf(keyOf(config.encryptionKey), fileId, purpose, expires));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return expires * 1000 < now.getTime() ? 'expired' : 'valid';
}
