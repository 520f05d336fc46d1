import type { RecordedEvent } from '../../events/event-store.ts';
import { contentTypeOf } from '../../domain/messages.ts';
import { seed004Data, type FileLinks } from '../../webhooks/payloads.ts';

// Domain events in the shapes the seeds' WebSocket clients expect.

type Message = Record<string, unknown> & { type: string };

// Seed 004 shows two schemes for the same socket: its "WebSocket Events" section (`flat`) and its Best Practices
// snippet (`data`). Neither client says which it wants, so both get both unless they choose.
export const SEED004_FORMATS = ['both', 'flat', 'data'] as const;
export type Seed004Format = (typeof SEED004_FORMATS)[number];

// Seed 004's "WebSocket Events" (`/ws`): `qr`, `connection`, `session_update`, `message`, fields at the top level.
export function seed004FlatMessage(event: RecordedEvent): Message | undefined {
  const sessionId = event.metadata.sessionId;
  const data = event.data;
  switch (event.type) {
    case 'device.qr-issued':
      return { type: 'qr', sessionId, qr: data.qr };
    case 'device.pairing-code-issued':
      return { type: 'pairing_code', sessionId, code: data.code };
    case 'device.connected':
      return { type: 'connection', sessionId, status: 'connected', phoneNumber: data.phoneNumber };
    case 'device.connecting':
      return { type: 'session_update', sessionId, status: 'connecting' };
    case 'device.disconnected':
      return { type: 'session_update', sessionId, status: 'disconnected', reason: data.reason };
    case 'device.logged-out':
      return { type: 'session_update', sessionId, status: 'logged_out' };
    case 'device.failed':
      return { type: 'session_update', sessionId, status: 'error', error: data.message };
    case 'message.received':
      return {
        type: 'message',
        sessionId,
        message: { id: data.waMessageId, from: data.from, fromLid: data.fromLid, body: data.text, type: contentTypeOf(String(data.messageType)), timestamp: data.timestamp },
      };
    default:
      return undefined;
  }
}

// Seed 004's Best Practices names, each an event in the past tense over `data` as its webhooks carry it.
const DATA_TYPES: Record<string, string> = {
  'device.qr-issued': 'qr_code',
  'device.pairing-code-issued': 'pairing_code_issued',
  'device.connecting': 'device_connecting',
  'device.connected': 'device_connected',
  'device.disconnected': 'device_disconnected',
  'device.logged-out': 'device_logged_out',
  'device.failed': 'device_error',
  'message.received': 'message_received',
  'message.sent': 'message_sent',
  'message.delivered': 'message_delivered',
  'message.read': 'message_read',
  'message.played': 'message_played',
  'message.failed': 'message_failed',
};

// Seed 004's Best Practices (`qr_code` with `data.qrCode`, `device_connected`, `message_received` with `data`):
// `data` is what its webhooks carry for the event (the QR as a PNG data URL beside the raw `qr`).
export async function seed004DataMessage(event: RecordedEvent, links: FileLinks): Promise<Message | undefined> {
  const type = DATA_TYPES[event.type];
  if (!type) return undefined;
  return { type, sessionId: event.metadata.sessionId, data: await seed004Data(event, undefined, links) };
}

export async function seed004Messages(event: RecordedEvent, format: Seed004Format, links: FileLinks): Promise<Message[]> {
  const flat = format === 'data' ? undefined : seed004FlatMessage(event);
  const data = format === 'flat' ? undefined : await seed004DataMessage(event, links);
  return [flat, data].filter((message) => message !== undefined);
}

// Seed 003 (`/api/ws/{sessionId}`): `qr`, `success`, `error` with a `data` object.
export function seed003Message(event: RecordedEvent): Message | undefined {
  switch (event.type) {
    case 'device.qr-issued':
      return { type: 'qr', data: { qr: event.data.qr } };
    case 'device.connected':
      return { type: 'success', data: { phoneNumber: event.data.phoneNumber } };
    case 'device.logged-out':
      return { type: 'error', data: { error: 'logged out' } };
    case 'device.failed':
      return { type: 'error', data: { error: event.data.message } };
    default:
      return undefined;
  }
}
