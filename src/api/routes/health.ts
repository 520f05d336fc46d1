import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sqlOf } from '../../events/event-store.ts';
import type { LiveFeed } from '../../events/live-feed.ts';
import type { Queues } from '../../workers/queues.ts';
import { errors, ok } from '../schemas.ts';

async function probe(check: () => Promise<unknown>): Promise<string> {
  try {
    await check();
    return 'ok';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

// CPU use as a percentage of one core, measured between two calls (the first call measures since start).
function cpuMeter() {
  let last = { usage: process.cpuUsage(), at: process.hrtime.bigint() };
  return () => {
    const now = { usage: process.cpuUsage(), at: process.hrtime.bigint() };
    const usedMicros = now.usage.user - last.usage.user + (now.usage.system - last.usage.system);
    const elapsedMicros = Number(now.at - last.at) / 1000;
    last = now;
    return elapsedMicros > 0 ? Math.round((usedMicros / elapsedMicros) * 1000) / 10 : 0;
  };
}

const JobCounts = Type.Record(Type.String(), Type.Integer());

const healthRoutes: FastifyPluginAsyncTypebox<{ queues: Queues; liveFeed: LiveFeed }> = async (app, { queues, liveFeed }) => {
  const probeConfig = { auth: 'public', rateLimitGroup: false } as const;

  app.get('/health', {
    config: probeConfig,
    schema: { tags: ['health'], summary: 'The process is alive', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    handler: async () => ({ status: 'ok' }) as const,
  });

  const Checks = Type.Object({
    status: Type.String(),
    postgres: Type.String(),
    // `not configured` when queues and coordination live in PostgreSQL (no REDIS_URL).
    redis: Type.String(),
    queues: Type.Union([Type.Literal('redis'), Type.Literal('postgres')]),
  });
  app.get('/ready', {
    config: probeConfig,
    schema: { tags: ['health'], summary: 'PostgreSQL (and Redis, when configured) answer', response: { 200: Checks, 503: Checks } },
    handler: async (_request, reply) => {
      const onRedis = app.coordination.kind === 'redis';
      const [postgres, redis] = await Promise.all([
        probe(() => app.orm.em.getConnection().execute('select 1')),
        onRedis ? probe(() => app.coordination.ping()) : 'not configured',
      ]);
      const ready = postgres === 'ok' && (redis === 'ok' || !onRedis);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', postgres, redis, queues: app.queueBackend.kind });
    },
  });

  const cpu = cpuMeter();
  app.get('/api/whatsapp/server/stats', {
    config: { scope: 'read' },
    schema: {
      tags: ['health'],
      summary: 'Server figures (seed 004); queue counts and live clients for administrators',
      response: {
        200: ok(
          Type.Object({
            activeSessions: Type.Integer({ description: 'Your devices connected now (all devices for administrators)' }),
            totalDevices: Type.Integer({ description: 'Your devices (all devices for administrators)' }),
            totalMessages: Type.Integer({ description: 'Messages sent and received through your devices (all, for administrators)' }),
            uptime: Type.Integer({ description: 'Seconds since this process started' }),
            memory: Type.Number({ description: 'Resident memory of this process, MB' }),
            cpu: Type.Number({ description: 'CPU use since the previous call, % of one core' }),
            queues: Type.Optional(Type.Record(Type.String(), JobCounts)),
            liveClients: Type.Optional(Type.Integer({ description: 'SSE and WebSocket clients this process feeds' })),
          }),
        ),
        ...errors(401, 429),
      },
    },
    handler: async (request) => {
      const admin = request.principal?.role === 'admin';
      // Counted from the read models, so every API process answers the same whichever worker holds the sessions.
      const scope = admin ? '' : 'where user_id = ?';
      const params = admin ? [] : [request.principal!.userId];
      const [[devices], [messages]] = await Promise.all([
        sqlOf(request.em)(`select count(*) filter (where status = 'connected') as active, count(*) as total from devices ${scope}`, params),
        sqlOf(request.em)(`select count(*) as total from message_status ${scope.replace('user_id', 'tenant_id')}`, params),
      ]);
      const figures = {
        activeSessions: Number(devices!.active),
        totalDevices: Number(devices!.total),
        totalMessages: Number(messages!.total),
        uptime: Math.floor(process.uptime()),
        memory: Math.round((process.memoryUsage.rss() / 1_048_576) * 10) / 10,
        cpu: cpu(),
      };
      if (!admin) return { success: true, data: figures } as const;
      const counts = await Promise.all(
        Object.entries(queues).map(async ([name, queue]) => [name, await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed')] as const),
      );
      return { success: true, data: { ...figures, queues: Object.fromEntries(counts), liveClients: liveFeed.clientCount() } } as const;
    },
  });
};

export default healthRoutes;
