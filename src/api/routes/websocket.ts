import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { WebSocket } from 'ws';
import type { RecordedEvent } from '../../events/event-store.ts';
import type { LiveFeed, LiveSubscription } from '../../events/live-feed.ts';
import { DeviceSchema } from '../../db/entities/device.ts';
import { principalOf } from '../plugins/auth.ts';
import { seed003Message, seed004Message } from './websocket-messages.ts';

const Token = Type.Object({ token: Type.Optional(Type.String({ description: 'A JWT or API token (browsers cannot set headers)' })) });

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

// Live events over WebSocket, from the same log as SSE; only the caller's own events. No replay: a client that
// needs what it missed uses SSE with Last-Event-ID or GET /api/whatsapp/events.
const websocketRoutes: FastifyPluginAsyncTypebox<{ liveFeed: LiveFeed; maxBufferBytes: number }> = async (app, { liveFeed, maxBufferBytes }) => {
  const open = new Set<WebSocket>();
  app.addHook('preClose', async () => {
    for (const socket of open) socket.close(1001, 'server shutting down');
  });
  const track = (socket: WebSocket, subscription: Promise<LiveSubscription>) => {
    open.add(socket);
    socket.on('close', () => {
      open.delete(socket);
      void subscription.then((s) => s.close());
    });
  };

  const seed004Schema = {
    tags: ['events'],
    summary: 'WebSocket (seed 004): send {type: "subscribe" | "unsubscribe", sessionId}; receive qr, connection, session_update, message',
    querystring: Token,
  };
  app.get('/ws', { websocket: true, config: { queryToken: true }, schema: seed004Schema }, (socket, request) => {
    const send = sender(socket, maxBufferBytes);
    const sessions = new Set<string>();
    socket.on('message', (raw) => {
      let message: { type?: unknown; sessionId?: unknown };
      try {
        message = JSON.parse(String(raw));
      } catch {
        return send({ type: 'error', error: 'messages must be JSON' });
      }
      if (typeof message.sessionId !== 'string' || !message.sessionId) return send({ type: 'error', error: 'sessionId is required' });
      if (message.type === 'subscribe') sessions.add(message.sessionId);
      else if (message.type === 'unsubscribe') sessions.delete(message.sessionId);
      else return send({ type: 'error', error: 'type must be subscribe or unsubscribe' });
      send({ type: `${message.type}d`, sessionId: message.sessionId });
    });
    track(
      socket,
      liveFeed.subscribe({
        from: 'now',
        filter: { tenantId: principalOf(request).userId },
        accept: (event) => sessions.has(event.metadata.sessionId ?? ''),
        deliver: (event: RecordedEvent) => {
          const message = seed004Message(event);
          if (message) send(message);
        },
      }),
    );
  });

  const seed003Schema = {
    tags: ['events'],
    summary: 'WebSocket (seed 003) for one session: receive qr, success, error',
    params: Type.Object({ sessionId: Type.String({ minLength: 1, maxLength: 200 }) }),
    querystring: Token,
  };
  app.get('/api/ws/:sessionId', { websocket: true, config: { queryToken: true }, schema: seed003Schema }, async (socket, request) => {
    const send = sender(socket, maxBufferBytes);
    const principal = principalOf(request);
    // Seed 003 names a session by the id /api/sessions answered; seed 004 style session ids work too.
    const { sessionId } = request.params;
    const device = /^\d+$/.test(sessionId) ? await request.em.findOne(DeviceSchema, { id: Number(sessionId), user: principal.userId }) : null;
    track(
      socket,
      liveFeed.subscribe({
        from: 'now',
        filter: { tenantId: principal.userId, sessionId: device?.sessionId ?? sessionId },
        deliver: (event) => {
          const message = seed003Message(event);
          if (message) send(message);
        },
      }),
    );
  });
};

export default websocketRoutes;
