import { Type, type Static } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../domain/errors.ts';
import { checkpointOf, readFeed, START, type Checkpoint, type FeedFilter, type RecordedEvent } from '../../events/event-store.ts';
import type { LiveFeed } from '../../events/live-feed.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IsoDate, ok } from '../schemas.ts';

export const EventView = Type.Object({
  id: Type.Integer({ description: 'Global position in the log: resume after it with Last-Event-ID or ?after=' }),
  eventId: Type.String({ format: 'uuid' }),
  type: Type.String(),
  streamId: Type.String(),
  deviceId: Type.Union([Type.Integer(), Type.Null()]),
  sessionId: Type.Union([Type.String(), Type.Null()]),
  data: Type.Record(Type.String(), Type.Unknown()),
  recordedAt: IsoDate,
});

export function presentEvent(event: RecordedEvent): Static<typeof EventView> {
  return {
    id: event.position,
    eventId: event.eventId,
    type: event.type,
    streamId: event.streamId,
    deviceId: event.metadata.deviceId ?? null,
    sessionId: event.metadata.sessionId ?? null,
    data: event.data,
    recordedAt: event.recordedAt.toISOString(),
  };
}

// The live feed hands the same event object to every client in the process: serialise it once, not per client.
const frames = new WeakMap<RecordedEvent, string>();
function frameOf(event: RecordedEvent): string {
  let frame = frames.get(event);
  if (frame === undefined) {
    frame = `id: ${event.position}\nevent: ${event.type}\ndata: ${JSON.stringify(presentEvent(event))}\n\n`;
    frames.set(event, frame);
  }
  return frame;
}

const FilterQuery = {
  deviceId: Type.Optional(Type.Integer({ minimum: 1 })),
  sessionId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  types: Type.Optional(Type.String({ description: 'Comma-separated event types; `message.*` selects a prefix', maxLength: 1000 })),
};

function filterOf(request: FastifyRequest, query: { deviceId?: number; sessionId?: string; types?: string }): FeedFilter {
  const types = query.types?.split(',').map((t) => t.trim()).filter(Boolean);
  const principal = principalOf(request);
  return {
    tenantId: principal.userId,
    clientVisible: true,
    ...(principal.deviceIds === undefined ? {} : { deviceIds: principal.deviceIds }),
    ...(query.deviceId === undefined ? {} : { deviceId: query.deviceId }),
    ...(query.sessionId === undefined ? {} : { sessionId: query.sessionId }),
    ...(types?.length ? { types } : {}),
  };
}

async function resumePoint(request: FastifyRequest, position: number): Promise<Checkpoint> {
  const checkpoint = await checkpointOf(request.em, position);
  if (!checkpoint) throw new AppError('VALIDATION_ERROR', `No event has id ${position}`, [{ field: 'after', message: 'unknown event id' }]);
  return checkpoint;
}

const HEARTBEAT_MS = 15_000;
const DRAIN_GRACE_MS = 2_000;

export interface EventRoutesOptions {
  liveFeed: LiveFeed;
  // A client whose unsent output passes this is disconnected (it reconnects and resumes from the log).
  maxBufferBytes: number;
}

// Positions in the event log are bigints, wider than the input guard's default bound for integers.
const POSITION = { minimum: 0, maximum: Number.MAX_SAFE_INTEGER };

// The caller's own events: a Server-Sent Events stream that replays from Last-Event-ID then follows the log
// live, and a polling read of the same log.
const eventRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (app, { liveFeed, maxBufferBytes }) => {
  const tags = ['events'];
  // Open streams end when the server closes; clients reconnect elsewhere and resume from the log.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });

  app.get('/api/whatsapp/events', {
    config: { scope: 'read' },
    schema: {
      tags,
      summary: 'Read your events after a position (for clients that cannot hold a stream)',
      querystring: Type.Object({ after: Type.Integer({ ...POSITION, default: 0 }), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }), ...FilterQuery }),
      response: {
        200: ok(Type.Object({ items: Type.Array(EventView), nextCursor: Type.Integer({ description: 'Pass as ?after= for the next page' }) })),
        ...errors(400, 401, 429),
      },
    },
    handler: async (request) => {
      const { after, limit } = request.query;
      const events = await readFeed(request.em, after ? await resumePoint(request, after) : START, limit, filterOf(request, request.query));
      return { success: true, data: { items: events.map(presentEvent), nextCursor: events.at(-1)?.position ?? after } } as const;
    },
  });

  app.get('/api/whatsapp/events/stream', {
    config: { scope: 'read', queryToken: true },
    schema: {
      tags,
      summary: 'Server-Sent Events: your events live; reconnect with Last-Event-ID (or ?after=) to replay what was missed',
      querystring: Type.Object({
        after: Type.Optional(Type.Integer({ ...POSITION, description: 'Replay after this event id (0: from the start)' })),
        token: Type.Optional(Type.String({ description: 'Any credential (JWT, API token, API_TOKEN, ADMIN_TOKEN), for EventSource, which cannot set headers' })),
        ...FilterQuery,
      }),
      headers: Type.Object({ 'last-event-id': Type.Optional(Type.Integer(POSITION)) }),
      response: { 200: Type.String({ description: 'text/event-stream' }), ...errors(400, 401, 429) },
    },
    handler: async (request, reply) => {
      const resumeAfter = request.headers['last-event-id'] ?? request.query.after;
      const from = resumeAfter === undefined ? 'now' : await resumePoint(request, resumeAfter);
      const filter = filterOf(request, request.query);

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      res.write('retry: 2000\n\n');

      let subscription: { close(): void } | undefined;
      const end = () => {
        open.delete(end);
        clearTimeout(overflowTimer);
        clearInterval(heartbeat);
        subscription?.close();
        if (!res.destroyed) res.end();
      };
      open.add(end);
      // The feed writes a batch to every client at once, so a healthy client's buffer can pass the limit for a
      // moment. A client is dropped when it stays over the limit for a drain period.
      let overflowTimer: NodeJS.Timeout | undefined;
      const drop = () => {
        request.log.warn({ buffered: res.writableLength }, 'SSE client too slow; disconnecting it');
        end();
        res.destroy();
      };
      res.on('drain', () => {
        clearTimeout(overflowTimer);
        overflowTimer = undefined;
      });
      const send = (chunk: string) => {
        if (res.destroyed) return;
        res.write(chunk);
        if (res.writableLength > maxBufferBytes) overflowTimer ??= setTimeout(drop, DRAIN_GRACE_MS);
      };
      const heartbeat = setInterval(() => send(': heartbeat\n\n'), HEARTBEAT_MS);
      res.on('close', end);
      subscription = await liveFeed.subscribe({
        from,
        filter,
        deliver: (event) => send(frameOf(event)),
      });
      if (res.destroyed) subscription.close();
    },
  });
};

export default eventRoutes;
