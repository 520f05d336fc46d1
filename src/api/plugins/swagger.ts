import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { AuthMode } from './auth.ts';

const SECURITY: Record<AuthMode, Record<string, string[]>[]> = {
  public: [],
  user: [{ bearerAuth: [] }, { apiToken: [] }, { adminToken: [] }],
  admin: [{ adminToken: [] }, { bearerAuth: [] }, { apiToken: [] }],
  device: [{ deviceApiKey: [] }],
  any: [{ bearerAuth: [] }, { apiToken: [] }, { adminToken: [] }, { deviceApiKey: [] }],
};

// The OpenAPI document is generated from the same JSON schemas that validate requests and serialise replies.
export default fp(async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'WhatsApp multi-device API platform',
        version: '0.1.0',
        description:
          'Every answer is `{success: true, data}` or `{success: false, error, message, code, details?}`. Authenticate with ' +
          '`Authorization: Bearer <token>` (from POST /api/auth/login), `X-API-Token`, `X-Admin-Token` (admin routes) ' +
          'or `X-Device-API-Key` (device routes).',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          apiToken: { type: 'apiKey', in: 'header', name: 'X-API-Token' },
          adminToken: { type: 'apiKey', in: 'header', name: 'X-Admin-Token' },
          deviceApiKey: { type: 'apiKey', in: 'header', name: 'X-Device-API-Key' },
        },
      },
    },
    // Each route's security follows its `auth` setting, so the document cannot disagree with the hook.
    transform: ({ schema, url, route }) => {
      const mode = route.config?.auth ?? 'user';
      return { schema: { ...schema, security: SECURITY[mode] } as typeof schema, url };
    },
  });
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, auth: 'public', rateLimitGroup: false };
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
});
