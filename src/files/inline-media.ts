import { buffer } from 'node:stream/consumers';
import type { EntityManager } from '@mikro-orm/postgresql';
import { waitForFile } from './file-records.ts';
import { blobKeyOf, type FileStorage } from './storage.ts';

// Received media's bytes for a webhook endpoint that asks for them in the payload (base64, beside the signed link),
// up to a size a receiver can take in one JSON body. The webhook fires when the message arrives, so the bytes are
// waited for while the download job fetches them.
export const INLINE_MEDIA_MAX_BYTES = 5 * 1024 * 1024;

export type MediaInliner = (fileId: string) => Promise<{ data: string } | { inlineSkipped: string }>;

export function mediaInliner(em: () => EntityManager, storage: FileStorage): MediaInliner {
  return async (fileId) => {
    const file = await waitForFile(em, 'signed-link', fileId).catch(() => undefined);
    if (!file) return { inlineSkipped: 'the media could not be downloaded from WhatsApp (yet): use downloadUrl' };
    if (file.size > INLINE_MEDIA_MAX_BYTES) return { inlineSkipped: `larger than ${INLINE_MEDIA_MAX_BYTES} bytes: use downloadUrl` };
    return { data: (await buffer(await storage.get(blobKeyOf(file.sha256)))).toString('base64') };
  };
}
