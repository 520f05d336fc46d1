import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { SCOPE_DESCRIPTIONS, SCOPES, type Scope } from '../../domain/scopes.ts';
import type { AuthMode } from './auth.ts';

const SCHEMES: Record<AuthMode, string[]> = {
  public: [],
  user: ['bearerAuth', 'apiToken', 'adminToken'],
  admin: ['adminToken', 'bearerAuth', 'apiToken'],
  device: ['deviceApiKey'],
  any: ['bearerAuth', 'apiToken', 'adminToken', 'deviceApiKey'],
  // Or no credential with a signed link's `expires` and `signature` (described on the route).
  signed: ['bearerAuth', 'apiToken', 'adminToken'],
};

// Each scheme's requirement lists the route's scope (OpenAPI 3.1 allows scopes on any scheme); `x-scope` and
// the description say it in words too.
const security = (mode: AuthMode, scope: Scope | null | undefined) => SCHEMES[mode].map((scheme) => ({ [scheme]: scope ? [scope] : [] }));
const scopeNote = (scope: Scope | null) => (scope ? `Scope: \`${scope}\`.` : 'Scope: none (any valid credential).');
const SCOPE_TABLE = SCOPES.map((scope) => `\`${scope}\`: ${SCOPE_DESCRIPTIONS[scope]}.`).join(' ');

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
          'or `X-Device-API-Key` (device routes). API tokens may be limited to scopes and bound to devices; each route ' +
          `names the scope it needs. ${SCOPE_TABLE}`,
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
      if (mode === 'public') return { schema: { ...schema, security: [] } as typeof schema, url };
      const scope = route.config?.scope ?? null;
      const description = [schema?.description, scopeNote(scope)].filter(Boolean).join('\n\n');
      return { schema: { ...schema, description, security: security(mode, scope), 'x-scope': scope } as typeof schema, url };
    },
  });
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, auth: 'public', rateLimitGroup: false };
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
});
