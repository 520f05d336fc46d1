import type { RecordedEvent } from '../../events/event-store.ts';

// Domain events in the shapes the seeds' WebSocket clients expect.

type Message = Record<string, unknown> & { type: string };

// Seed 004 (`/ws`): `qr`, `connection`, `session_update`, `message`, each with the session id.
export function seed004Message(event: RecordedEvent): Message | undefined {
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
        message: { id: data.waMessageId, from: data.from, fromLid: data.fromLid, body: data.text, type: data.messageType, timestamp: data.timestamp },
      };
    default:
      return undefined;
  }
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
