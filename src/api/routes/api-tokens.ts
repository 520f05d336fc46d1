import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createApiKey, listApiKeys, revokeApiKey } from '../../auth/api-keys.ts';
import type { ApiKey } from '../../db/entities/api-key.ts';
import { findUser } from '../../auth/users.ts';
import { authContext } from '../plugins/context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams, IsoDate, ok, Success } from '../schemas.ts';
import { grantedScopes, SCOPES } from '../../domain/scopes.ts';
import { findDevice } from '../../devices/devices.ts';

const ApiTokenInfo = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  createdAt: IsoDate,
  lastUsedAt: Type.Union([IsoDate, Type.Null()]),
  expiresAt: Type.Union([IsoDate, Type.Null()]),
  scopes: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'null: every scope its owner has' }),
  deviceIds: Type.Union([Type.Array(Type.Integer()), Type.Null()], { description: "null: all of its owner's devices" }),
});

const ScopeName = Type.Union(SCOPES.map((scope) => Type.Literal(scope)));

const iso = (date: Date | null | undefined) => date?.toISOString() ?? null;
const info = (key: ApiKey) => ({
  id: key.id,
  name: key.name,
  createdAt: key.createdAt.toISOString(),
  lastUsedAt: iso(key.lastUsedAt),
  expiresAt: iso(key.expiresAt),
  scopes: key.scopes ?? null,
  deviceIds: key.deviceIds ?? null,
});

// A user's own API tokens (`X-API-Token`, seed 004). The secret is shown once, at creation.
const apiTokenRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['auth'];

  app.post('/api/auth/api-tokens', {
    config: { scope: 'account' },
    schema: {
      tags,
      summary: 'Create an API token (its secret is shown only in this answer)',
      body: Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 100 }),
          expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
          scopes: Type.Optional(
            Type.Array(ScopeName, { minItems: 1, uniqueItems: true, description: 'Omitted: the scopes of the credential creating it' }),
          ),
          deviceIds: Type.Optional(
            Type.Array(Type.Integer({ minimum: 1 }), {
              minItems: 1,
              maxItems: 100,
              uniqueItems: true,
              description: 'The only devices the token sees; omitted: those of the credential creating it',
            }),
          ),
        },
        { additionalProperties: false },
      ),
      response: { 201: ok(Type.Object({ ...ApiTokenInfo.properties, token: Type.String() })), ...errors(400, 401, 403, 404, 429) },
    },
    handler: async (request, reply) => {
      const ctx = authContext(request);
      const principal = principalOf(request);
      const user = await findUser(ctx, principal.userId);
      const { expiresInDays, name } = request.body;
      const expiresAt = expiresInDays ? new Date(ctx.clock().getTime() + expiresInDays * 86_400_000) : undefined;
      const scopes = grantedScopes(principal.role, principal.scopes, request.body.scopes);
      // A device the creator cannot reach is answered as a missing one; a bound creator passes its binding on.
      for (const id of request.body.deviceIds ?? []) await findDevice(ctx.em, principal, id);
      const deviceIds = request.body.deviceIds ?? principal.deviceIds;
      const created = await createApiKey(ctx, user, {
        kind: 'api-token',
        name,
        ...(expiresAt ? { expiresAt } : {}),
        ...(scopes ? { scopes } : {}),
        ...(deviceIds ? { deviceIds } : {}),
      });
      return reply.code(201).send({ success: true, data: { ...info(created.key), token: created.secret } });
    },
  });

  app.get('/api/auth/api-tokens', {
    config: { scope: 'account' },
    schema: { tags, summary: 'List your API tokens (never their secrets)', response: { 200: ok(Type.Array(ApiTokenInfo)), ...errors(401, 429) } },
    handler: async (request) => {
      const keys = await listApiKeys(authContext(request), principalOf(request).userId);
      return { success: true, data: keys.map(info) } as const;
    },
  });

  app.delete('/api/auth/api-tokens/:id', {
    config: { scope: 'account' },
    schema: { tags, summary: 'Revoke one of your API tokens', params: IdParams, response: { 200: Success, ...errors(401, 404, 429) } },
    handler: async (request) => {
      await revokeApiKey(authContext(request), principalOf(request), request.params.id);
      return { success: true } as const;
    },
  });
};

export default apiTokenRoutes;
