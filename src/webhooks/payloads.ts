import QRCode from 'qrcode';
import type { RecordedEvent } from '../events/event-store.ts';
import { contentTypeOf } from '../domain/messages.ts';
import { publicNameOf } from '../domain/webhooks.ts';

// What a receiver gets for an event. Built from the event and the device as they are now, never from anything
// secret: API keys, webhook secrets and credentials have no path into a payload.

export interface PayloadDevice {
  id: number;
  sessionId: string;
  alias: string;
  phoneNumber: string | null;
  metadata: Record<string, unknown>;
}

const STATUS_OF: Record<string, string> = {
  'device.connecting': 'connecting',
  'device.connected': 'connected',
  'device.disconnected': 'disconnected',
  'device.logged-out': 'logged_out',
  'device.failed': 'error',
  'message.sent': 'sent',
  'message.delivered': 'delivered',
  'message.read': 'read',
  'message.played': 'played',
  'message.failed': 'failed',
};

// A signed link to a file's bytes, valid for a while without credentials (src/files/signed-urls.ts): what payloads
// carry of received media instead of the bytes.
export type FileLinks = (fileId: string) => string;

function mediaOf(media: unknown, links: FileLinks): Record<string, unknown> | undefined {
  if (!media || typeof media !== 'object') return undefined;
  const received = media as { fileId: string; type: string };
  const { type, ...rest } = received;
  return { kind: type, ...rest, downloadUrl: links(received.fileId) };
}

const plusNumber = (jid: unknown) => (typeof jid === 'string' && jid.endsWith('@s.whatsapp.net') ? `+${jid.split(/[:@]/)[0]}` : undefined);

// Seed 004's `data` for its four events (`message`, `connection`, `qr`, `status`); our other events as recorded.
export async function seed004Data(event: RecordedEvent, device: PayloadDevice | undefined, links: FileLinks): Promise<Record<string, unknown>> {
  const data = event.data;
  switch (publicNameOf(event.type)) {
    case 'message': {
      const media = mediaOf(data.media, links);
      return {
        messageId: data.messageId,
        waMessageId: data.waMessageId,
        chatJid: data.chatJid,
        from: data.from,
        fromNumber: plusNumber(data.from),
        fromLid: data.fromLid,
        pushName: data.pushName,
        message: data.text,
        type: contentTypeOf(String(data.messageType)),
        timestamp: Number(data.timestamp) * 1000,
        ...(media ? { media, caption: media.caption ?? null } : {}),
      };
    }
    case 'connection':
      return {
        status: STATUS_OF[event.type],
        phoneNumber: data.phoneNumber ?? device?.phoneNumber ?? null,
        device: data.name ?? device?.alias,
        ...(data.reason !== undefined ? { reason: data.reason } : {}),
        ...(data.message !== undefined ? { error: data.message } : {}),
      };
    case 'qr':
      return { qrCode: await QRCode.toDataURL(String(data.qr)), qr: data.qr };
    case 'status':
      return {
        messageId: data.messageId,
        status: STATUS_OF[event.type],
        timestamp: event.recordedAt.getTime(),
        ...(data.waMessageId !== undefined ? { waMessageId: data.waMessageId } : {}),
        ...(data.code !== undefined ? { code: data.code, reason: data.reason } : {}),
      };
    default:
      return data;
  }
}

// Seed 004's envelope, with the event's stable id (the receiver's de-duplication key). Seed 004 names the event
// `event` in its payloads and reads `type` in its Express receiver, so both carry the public name (`message`,
// `connection`, …); our own event type (`message.received`) is `eventType`.
export async function standardPayload(event: RecordedEvent, device: PayloadDevice | undefined, links: FileLinks): Promise<Record<string, unknown>> {
  const name = publicNameOf(event.type);
  return {
    id: event.eventId,
    event: name,
    type: name,
    eventType: event.type,
    timestamp: event.recordedAt.toISOString(),
    deviceId: device ? String(device.id) : null,
    sessionId: device?.sessionId ?? event.metadata.sessionId ?? null,
    metadata: device?.metadata ?? {},
    data: await seed004Data(event, device, links),
  };
}

// Seed 003's receivers know one payload: a received message. Undefined for anything else. Its `session_id` is the
// session's `id` as a string, what `/api/sessions/{id}` takes.
export function seed003Payload(event: RecordedEvent, device: PayloadDevice | undefined): Record<string, unknown> | undefined {
  if (event.type !== 'message.received') return undefined;
  const data = event.data;
  const sessionId = device?.id ?? event.metadata.deviceId;
  return {
    id: event.eventId,
    session_id: sessionId === undefined ? null : String(sessionId),
    metadata: device?.metadata ?? {},
    message: {
      id: data.waMessageId,
      from: data.from,
      to: device?.phoneNumber ? `${device.phoneNumber.replace(/^\+/, '')}@s.whatsapp.net` : null,
      message: data.text ?? null,
      timestamp: data.timestamp,
    },
  };
}
