import fp from 'fastify-plugin';
import cors from '@fastify/cors';

// Browsers on other origins (seed 004's HTML example) call the API with our headers, so each such call is
// preceded by a preflight. The preflight is answered in @fastify/cors' onRequest hook, registered before the
// rate-limit and auth hooks: it needs no credentials and costs no budget.
export default fp<{ origins: '*' | string[] }>(async (app, { origins }) => {
  await app.register(cors, {
    // An empty list answers every preflight without Access-Control-Allow-Origin: the browser refuses the call.
    origin: origins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: [
      'X-API-Token',
      'X-Admin-Token',
      'X-Device-API-Key',
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'Last-Event-ID',
      'Prefer',
    ],
    exposedHeaders: ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After', 'X-Request-Id'],
    maxAge: 600,
  });
});
