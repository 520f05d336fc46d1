import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginAsync } from 'fastify';
import type { Queues } from '../../workers/queues.ts';

const BASE_PATH = '/admin/queues';

// bull-board at /admin/queues, for administrators only. Browsers sign in with HTTP Basic (an admin's username
// and password); scripts may send any admin credential header. Registered as its own encapsulated plugin so
// its hooks touch only its routes.
const bullBoard: FastifyPluginAsync<{ queues: Queues }> = async (app, { queues }) => {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BASE_PATH);
  createBullBoard({ queues: Object.values(queues).map((queue) => new BullMQAdapter(queue)), serverAdapter });

  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, auth: 'admin', scope: 'admin', rateLimitGroup: false, basicAuth: true };
    route.schema = { ...route.schema, hide: true } as typeof route.schema;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (reply.statusCode === 401) reply.header('www-authenticate', 'Basic realm="wa-platform queues", charset="UTF-8"');
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BASE_PATH });
};

export default bullBoard;
