import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { downloadContentFromMessage, type WAMessage } from '@whiskeysockets/baileys';
import { UnrecoverableError, type Job } from 'bullmq';
import type { Config } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import { AppError } from '../../domain/errors.ts';
import { streamOf, type DomainEvent, type EventPayloads } from '../../domain/events.ts';
import { eventIdOf } from '../../events/event-ids.ts';
import { appendToStream, readStream } from '../../events/event-store.ts';
import { storeFile } from '../../files/file-records.ts';
import type { FileStorage } from '../../files/storage.ts';
import type { Logger } from '../../logger.ts';
import { decodeReceived, encodeReceived, mediaPartOf } from '../sessions/received-media.ts';
import type { SessionQuestions } from '../sessions/session-requests.ts';
import { scratchDir } from '../../files/scratch.ts';

// Downloads a received media message's bytes from WhatsApp, checks them against the digest and length the message
// announced (Baileys checks neither), and stores them as a file of the device's owner under the id the message
// already named. When WhatsApp no longer has the media (404/410), the session holding the device asks the sender's
// phone to upload it again (media retry) and the download starts over at the new address. The outcome is an event
// on the message: `message.media-stored`, or `message.media-failed` once there is nothing left to try.

export interface MediaDownloadJobData {
  messageId: string;
}

export const MEDIA_DOWNLOAD_ATTEMPTS = 6;

export interface DownloadDeps {
  orm: Orm;
  storage: FileStorage;
  config: Config;
  questions: SessionQuestions;
  logger: Logger;
}

class MediaCheckError extends Error {}

const statusOf = (err: unknown) => (err as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;

export function mediaDownloadProcessor({ orm, storage, config, questions, logger }: DownloadDeps) {
  return async (job: Job<MediaDownloadJobData>) => {
    const { messageId } = job.data;
    const events = await readStream(orm.em.fork(), streamOf.message(messageId));
    if (events.some((e) => e.type === 'message.media-stored' || e.type === 'message.media-failed')) return { skipped: 'done before' };
    const received = events.find((e) => e.type === 'message.received');
    const raw = events.findLast((e) => e.type === 'message.media-received');
    if (!received || !raw) throw new UnrecoverableError(`no received media message ${messageId}`);
    const media = (received.data as unknown as EventPayloads['message.received']).media!;
    const metadata = received.metadata;
    const record = (event: DomainEvent) => appendToStream(orm.em.fork(), streamOf.message(messageId), [{ event, eventId: eventIdOf(`${messageId}:media-outcome`) }], { expectedVersion: 'any', metadata });
    const fail = async (code: string, reason: string) => {
      await record({ type: 'message.media-failed', data: { messageId, fileId: media.fileId, code, reason } });
      return { failed: code };
    };

    let message = decodeReceived(String(raw.data.message));
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? MEDIA_DOWNLOAD_ATTEMPTS);
    for (let retried = false; ; retried = true) {
      try {
        const stored = await downloadAndStore(message, media.type, { storage, orm, config, userId: metadata.tenantId!, fileId: media.fileId, filename: media.filename });
        await record({ type: 'message.media-stored', data: { messageId, ...stored } });
        return stored;
      } catch (err) {
        const status = statusOf(err);
        if ((status === 404 || status === 410) && !retried) {
          try {
            const answer = await questions.ask<{ message: string }>(metadata.deviceId!, { op: 'media-retry', message: encodeReceived(message) }, 60_000);
            message = decodeReceived(answer.message);
            // The new address, so that a later attempt (after a crash) starts from it.
            await appendToStream(orm.em.fork(), streamOf.message(messageId), [{ event: { type: 'message.media-received', data: { messageId, message: answer.message } } }], { expectedVersion: 'any', metadata });
            continue;
          } catch (retryErr) {
            if (retryErr instanceof AppError && retryErr.code === 'MEDIA_GONE') return fail('MEDIA_GONE', retryErr.message);
            if (lastAttempt) return fail('MEDIA_DOWNLOAD_FAILED', `WhatsApp answered ${status}, and the media retry failed: ${(retryErr as Error).message}`);
            throw retryErr;
          }
        }
        if (status === 404 || status === 410) return fail('MEDIA_GONE', `WhatsApp answered ${status}, also after the sender's phone uploaded it again`);
        if (lastAttempt) return fail(err instanceof MediaCheckError ? 'MEDIA_CORRUPT' : 'MEDIA_DOWNLOAD_FAILED', err instanceof Error ? err.message : String(err));
        logger.warn({ err, messageId }, 'media download failed; retrying');
        throw err;
      }
    }
  };
}

async function downloadAndStore(
  message: WAMessage,
  kind: string,
  target: { storage: FileStorage; orm: Orm; config: Config; userId: number; fileId: string; filename?: string },
): Promise<{ fileId: string; size: number; sha256: string }> {
  const found = mediaPartOf(message.message);
  if (!found) throw new UnrecoverableError('the message holds no media');
  const { part } = found;
  const dir = await scratchDir('receive');
  try {
    const path = join(dir, 'media');
    const hash = createHash('sha256');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(await downloadContentFromMessage(part, kind as 'image'), count, createWriteStream(path));
    const digest = hash.digest();
    if (part.fileSha256?.length && !digest.equals(Buffer.from(part.fileSha256))) throw new MediaCheckError('the downloaded bytes do not match the digest the message announced');
    const announced = part.fileLength === null || part.fileLength === undefined ? undefined : Number(part.fileLength);
    if (announced !== undefined && announced !== size) throw new MediaCheckError(`downloaded ${size} bytes, the message announced ${announced}`);
    const file = await storeFile(
      { em: target.orm.em.fork(), storage: target.storage, config: target.config },
      { userId: target.userId, body: createReadStream(path), filename: target.filename ?? `${kind}`, source: 'received', fileId: target.fileId },
    );
    return { fileId: file.fileId, size, sha256: digest.toString('hex') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
