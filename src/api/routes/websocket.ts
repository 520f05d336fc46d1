import { Type } from 'typebox';
import type { FastifyBaseLogger, FastifyError } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { WebSocket } from 'ws';
import type { RecordedEvent } from '../../events/event-store.ts';
import type { LiveFeed, LiveSubscription } from '../../events/live-feed.ts';
import type { Principal } from '../../auth/context.ts';
import { DeviceSchema } from '../../db/entities/device.ts';
import { currentQrEvent, reachableDevices } from '../../devices/devices.ts';
import { AppError } from '../../domain/errors.ts';
import { principalOf } from '../plugins/auth.ts';
import { signedFileUrl } from '../../files/signed-urls.ts';
import { SEED004_FORMATS, seed003Message, seed004Messages, type Seed004Format } from './websocket-messages.ts';
import { inputIssues } from '../../domain/input-safety.ts';

const token = Type.Optional(Type.String({ description: 'Any credential the headers take (browsers cannot set headers on a WebSocket)' }));
const Token = Type.Object({ token });
const format = Type.Union(
  SEED004_FORMATS.map((name) => Type.Literal(name)),
  { description: 'Which of seed 004\'s two event schemes to send: both (default), flat or data' },
);
const Seed004Query = Type.Object({ token, format: Type.Optional(format) });
const upgraded = { 101: Type.Null({ description: 'Switching Protocols: the connection is a WebSocket from here on' }) };

const SEED004_DESCRIPTION = `Also served at \`ws://host:WS_PORT/?token=…\` (port 3001 unless WS_PORT says otherwise), the URL seed 004's
examples use. After connecting, send \`{"type": "subscribe", "sessionId": "…"}\` (answered \`{"type": "subscribed", sessionId, format}\`)
and \`{"type": "unsubscribe", "sessionId": "…"}\`; only the caller's own sessions' events arrive (an administrator's: any
session's), live (no replay), a subscription starting with the QR the device shows now, if any.

Seed 004 shows two schemes; every message carries \`type\` and \`sessionId\`:
- \`flat\` (its "WebSocket Events"): \`qr\` {qr}, \`pairing_code\` {code}, \`connection\` {status: "connected", phoneNumber},
  \`session_update\` {status: connecting | disconnected | logged_out | error, reason?, error?}, \`message\` {message: {id, from, fromLid, body, type, timestamp}}.
- \`data\` (its Best Practices): \`qr_code\`, \`pairing_code_issued\`, \`device_connecting\`, \`device_connected\`, \`device_disconnected\`,
  \`device_logged_out\`, \`device_error\`, \`message_received\`, \`message_sent\`, \`message_delivered\`, \`message_read\`, \`message_played\`,
  \`message_failed\`, each with \`data\` as the webhook of the same event carries it (\`qr_code\`: {qrCode: PNG data URL, qr};
  \`message_received\`: {messageId, waMessageId, from, fromNumber, message, type, timestamp, …}).

By default (\`both\`) each event is sent once in each scheme, flat first: a client handles the types it knows and ignores the rest.
Choose one with \`?format=flat|data\` on connecting, or per session with \`"format"\` in \`subscribe\`.

A refused connection (bad token, bad query) is accepted, answered \`{"type": "error", "success": false, error, code}\` and closed
with code 4000 + the HTTP status (4401 not authenticated, 4403 forbidden, 4400 bad request) and the error as the reason.`;

// A user hears their own sessions; an administrator, who creates and manages devices for every user, any session;
// a bound token only its devices'.
const tenantOf = (principal: Principal) => ({
  clientVisible: true,
  ...(principal.role === 'admin' ? {} : { tenantId: principal.userId }),
  ...(principal.deviceIds === undefined ? {} : { deviceIds: principal.deviceIds }),
});
const ownedBy = (principal: Principal) => ({ ...(principal.role === 'admin' ? {} : { user: principal.userId }), ...reachableDevices(principal) });

// Close reasons are limited to 123 bytes.
function closeReason(text: string): string {
  let reason = text;
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1);
  return reason;
}

// A socket that cannot keep up is closed rather than allowed to grow without bound (same rule as SSE).
function sender(socket: WebSocket, maxBufferBytes: number) {
  return (message: object) => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > maxBufferBytes) {
      socket.close(1013, 'too slow: reconnect');
      return;
    }
    socket.send(JSON.stringify(message));
  };
}

// Shapes are made one event at a time (a QR's PNG takes a moment, the current QR is read from the log), so
// messages leave in the order they were asked for.
function sendInOrder(send: (message: object) => void, log: FastifyBaseLogger) {
  let queue = Promise.resolve();
  return (messages: () => Promise<object[]>) => {
    queue = queue
      .then(async () => {
        for (const message of await messages()) send(message);
      })
      .catch((err: unknown) => log.error({ err }, 'websocket message failed'));
  };
}

// Live events over WebSocket, from the same log as SSE; only the caller's own events. No replay: a client that
// needs what it missed uses SSE with Last-Event-ID or GET /api/whatsapp/events.
const websocketRoutes: FastifyPluginAsyncTypebox<{ liveFeed: LiveFeed; maxBufferBytes: number }> = async (app, { liveFeed, maxBufferBytes }) => {
  // A plain HTTP request to a WebSocket route (no upgrade) is refused in our shape, not with @fastify/websocket's
  // bare 404. Declaring `wsHandler` (rather than `websocket: true`) keeps the routes in the OpenAPI document too.
  const webSocketOnly = async () => {
    throw new AppError('NOT_FOUND', 'This route serves WebSocket connections only: connect with a WebSocket client (ws://…)');
  };

  // A browser cannot read the answer to a refused upgrade (its WebSocket reports a bare "error"), so a refusal
  // completes the handshake, says why in one message and closes with 4000 + the HTTP status. 5xx stay with the
  // app's error handler (logged, details hidden).
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode ?? 500;
    if (!request.ws || status >= 500) throw err;
    const body =
      err instanceof AppError
        ? { error: err.message, code: err.code }
        : { error: err.validation ? `Request validation failed: ${err.message}` : err.message, code: err.validation ? 'VALIDATION_ERROR' : 'BAD_REQUEST' };
    reply.hijack();
    app.websocketServer.handleUpgrade(request.raw, request.raw.socket, Buffer.alloc(0), (socket) => {
      socket.send(JSON.stringify({ type: 'error', success: false, ...body }));
      socket.close(4000 + status, closeReason(body.error));
    });
  });

  const track = (socket: WebSocket, subscription: Promise<LiveSubscription>) => {
    socket.on('close', () => void subscription.then((s) => s.close()));
  };

  const seed004Schema = {
    tags: ['events'],
    summary: 'WebSocket (seed 004): send {type: "subscribe" | "unsubscribe", sessionId, format?}; receive qr/qr_code, connection/device_connected, session_update, message/message_received',
    description: SEED004_DESCRIPTION,
    querystring: Seed004Query,
    response: upgraded,
  };
  app.route({
    method: 'GET',
    url: '/ws',
    config: { scope: 'read', queryToken: true },
    schema: seed004Schema,
    handler: webSocketOnly,
    wsHandler: (socket, request) => {
      const send = sender(socket, maxBufferBytes);
      const principal = principalOf(request);
      const links = (fileId: string) => signedFileUrl(app.config, fileId, 'download', app.clock());
      const connectionFormat = request.query.format ?? 'both';
      const inOrder = sendInOrder(send, request.log);
      const enqueue = (event: () => Promise<RecordedEvent | undefined>, format: Seed004Format) =>
        inOrder(async () => {
          const recorded = await event();
          return recorded ? seed004Messages(recorded, format, links) : [];
        });
      // Subscribed sessions and the scheme each was subscribed with.
      const sessions = new Map<string, Seed004Format>();
      socket.on('message', (raw) => {
        let message: { type?: unknown; sessionId?: unknown; format?: unknown };
        try {
          message = JSON.parse(String(raw));
        } catch {
          return send({ type: 'error', error: 'messages must be JSON' });
        }
        // The same refusals as HTTP input's (src/api/plugins/input-guard.ts): this JSON is parsed here, not by fastify.
        const [issue] = inputIssues(message, 'message');
        if (issue) return send({ type: 'error', error: `${issue.field} ${issue.message}` });
        const { sessionId } = message;
        if (typeof sessionId !== 'string' || !sessionId) return send({ type: 'error', error: 'sessionId is required' });
        if (message.type === 'unsubscribe') {
          sessions.delete(sessionId);
          return send({ type: 'unsubscribed', sessionId });
        }
        if (message.type !== 'subscribe') return send({ type: 'error', error: 'type must be subscribe or unsubscribe' });
        const chosen = message.format ?? connectionFormat;
        if (!SEED004_FORMATS.includes(chosen as Seed004Format)) return send({ type: 'error', error: `format must be one of ${SEED004_FORMATS.join(', ')}` });
        sessions.set(sessionId, chosen as Seed004Format);
        send({ type: 'subscribed', sessionId, format: chosen });
        // Seed 004 creates a device, then connects and subscribes: a QR issued in between would otherwise be missed
        // for the QR's whole lifetime, so the one showing now comes first (ahead of any live event that follows).
        enqueue(async () => {
          const em = app.orm.em.fork();
          const device = await em.findOne(DeviceSchema, { sessionId, ...ownedBy(principal) });
          return device ? currentQrEvent(em, device) : undefined;
        }, chosen as Seed004Format);
      });
      track(
        socket,
        liveFeed.subscribe({
          from: 'now',
          filter: tenantOf(principal),
          accept: (event) => sessions.has(event.metadata.sessionId ?? ''),
          deliver: (event: RecordedEvent) => enqueue(async () => event, sessions.get(event.metadata.sessionId ?? '') ?? connectionFormat),
        }),
      );
    },
  });

  const seed003Schema = {
    tags: ['events'],
    summary: 'WebSocket (seed 003) for one session: receive qr, success, error',
    params: Type.Object({ sessionId: Type.String({ minLength: 1, maxLength: 200 }) }),
    querystring: Token,
    response: upgraded,
  };
  app.route({
    method: 'GET',
    url: '/api/ws/:sessionId',
    config: { scope: 'read', queryToken: true },
    schema: seed003Schema,
    handler: webSocketOnly,
    wsHandler: async (socket, request) => {
      const send = sender(socket, maxBufferBytes);
      const principal = principalOf(request);
      // Seed 003 names a session by the id /api/sessions answered; seed 004 style session ids work too.
      const { sessionId } = request.params;
      const device = await request.em.findOne(DeviceSchema, { ...(/^\d+$/.test(sessionId) ? { id: Number(sessionId) } : { sessionId }), ...ownedBy(principal) });
      // Seed 003 connects the session, then opens this socket: the QR showing by then comes first, then live events
      // in the log's order (a QR issued meanwhile may arrive twice, never out of order).
      const inOrder = sendInOrder(send, request.log);
      const enqueue = (event: () => Promise<RecordedEvent | undefined>) =>
        inOrder(async () => {
          const recorded = await event();
          const message = recorded && seed003Message(recorded);
          return message ? [message] : [];
        });
      if (device) enqueue(() => currentQrEvent(app.orm.em.fork(), device));
      track(
        socket,
        liveFeed.subscribe({
          from: 'now',
          filter: { ...tenantOf(principal), sessionId: device?.sessionId ?? sessionId },
          deliver: (event) => enqueue(async () => event),
        }),
      );
    },
  });
};

export default websocketRoutes;
