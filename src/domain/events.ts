// Domain events: immutable facts in the past tense, `{type, data}` with a version per type so payloads can
// evolve (a reader upcasts old versions). Pure types; nothing here does I/O.

export interface MessageEventData {
  messageId: string;
}

export interface EventPayloads {
  'message.queued': MessageEventData & { to: string };
  'message.sent': MessageEventData & { waMessageId: string };
  'message.delivered': MessageEventData;
  'message.read': MessageEventData;
  'message.played': MessageEventData;
  'message.failed': MessageEventData & { reason: string; code?: string };
  'message.received': MessageEventData & {
    waMessageId: string;
    from: string;
    fromLid?: string;
    messageType: string;
    text?: string;
    timestamp: number;
  };
  'device.qr-issued': { qr: string };
  'device.pairing-code-issued': { code: string };
  'device.connecting': Record<string, never>;
  'device.connected': { phoneNumber: string; name?: string };
  'device.disconnected': { reason: string; code?: number };
  'device.logged-out': { reason?: string };
  'device.failed': { message: string };
}

export type EventType = keyof EventPayloads;

// The current version of each payload; bump it with an upcaster when a payload changes shape.
export const EVENT_VERSIONS: Record<EventType, number> = {
  'message.queued': 1,
  'message.sent': 1,
  'message.delivered': 1,
  'message.read': 1,
  'message.played': 1,
  'message.failed': 1,
  'message.received': 1,
  'device.qr-issued': 1,
  'device.pairing-code-issued': 1,
  'device.connecting': 1,
  'device.connected': 1,
  'device.disconnected': 1,
  'device.logged-out': 1,
  'device.failed': 1,
};

export type DomainEvent = { [T in EventType]: { type: T; data: EventPayloads[T] } }[EventType];

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(EVENT_VERSIONS, type);
}

// Stream ids name the aggregate: `message-<id>`, `device-<id>`.
export const streamOf = {
  message: (messageId: string) => `message-${messageId}`,
  device: (deviceId: number) => `device-${deviceId}`,
};
