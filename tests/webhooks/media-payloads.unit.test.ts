import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seed004Messages } from '../../src/api/routes/websocket-messages.ts';
import { loadConfig } from '../../src/config.ts';
import type { RecordedEvent } from '../../src/events/event-store.ts';
import { checkFileLink, signedFileUrl } from '../../src/files/signed-urls.ts';
import { standardPayload } from '../../src/webhooks/payloads.ts';

// Received media in what receivers get: the kind, caption, type and size, and a signed link to the bytes (never
// the bytes, never a link that works for another file).
const config = loadConfig({ PUBLIC_URL: 'https://wa.example.com' });
const now = new Date('2026-12-03T08:00:00Z');
const links = (fileId: string) => signedFileUrl(config, fileId, 'download', now);
const event: RecordedEvent = {
  position: 1,
  transactionId: '1',
  eventId: 'evt_1',
  streamId: 'message-in_abc',
  streamVersion: 1,
  type: 'message.received',
  typeVersion: 1,
  data: {
    messageId: 'in_abcdefghijklmnopqrstuv',
    waMessageId: 'WA1',
    chatJid: '6281300000101@s.whatsapp.net',
    from: '6281300000101@s.whatsapp.net',
    messageType: 'imageMessage',
    text: 'Is this in stock?',
    timestamp: 1_790_000_000,
    media: { type: 'image', mimetype: 'image/jpeg', size: 1234, fileId: 'file_abcdefghijklmnopqrstuv', caption: 'Is this in stock?', width: 400, height: 300 },
  },
  metadata: { tenantId: 1, deviceId: 2, sessionId: 'user_a_device_b' },
  recordedAt: now,
};

function checkMedia(media: Record<string, unknown>) {
  assert.deepEqual({ ...media, downloadUrl: undefined }, { kind: 'image', mimetype: 'image/jpeg', size: 1234, fileId: 'file_abcdefghijklmnopqrstuv', caption: 'Is this in stock?', width: 400, height: 300, downloadUrl: undefined });
  const url = new URL(String(media.downloadUrl));
  assert.equal(url.origin + url.pathname, 'https://wa.example.com/api/whatsapp/files/file_abcdefghijklmnopqrstuv/download');
  const [expires, signature] = [Number(url.searchParams.get('expires')), url.searchParams.get('signature')!];
  assert.equal(checkFileLink(config, 'file_abcdefghijklmnopqrstuv', 'download', expires, signature, now), 'valid');
  assert.equal(checkFileLink(config, 'file_other', 'download', expires, signature, now), 'invalid');
  assert.equal(checkFileLink(config, 'file_abcdefghijklmnopqrstuv', 'preview', expires, signature, now), 'invalid');
}

test("a webhook's message with media carries its details and a signed download link", async () => {
  const payload = await standardPayload(event, undefined, links);
  const data = payload.data as Record<string, unknown>;
  assert.equal(data.type, 'image');
  assert.equal(data.caption, 'Is this in stock?');
  checkMedia(data.media as Record<string, unknown>);
});

test("seed 004's WebSocket message_received carries the same media and link", async () => {
  const messages = await seed004Messages(event, 'data', links);
  const media = (messages[0]!.data as { media: Record<string, unknown> }).media;
  checkMedia(media);
});

test('a text message carries no media at all', async () => {
  const text = { ...event, data: { ...event.data, messageType: 'conversation', media: undefined } };
  const data = (await standardPayload(text, undefined, links)).data as Record<string, unknown>;
  assert.equal('media' in data, false);
});
