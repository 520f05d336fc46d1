import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { issueLoginToken } from '../../auth/login.ts';
import { createUser, findUser, listUsers, updateUser } from '../../auth/users.ts';
import type { User } from '../../db/entities/user.ts';
import { authContext } from '../plugins/context.ts';
import { errors, IdParams, IsoDate, Nullable, ok, page, PageQuery } from '../schemas.ts';

export const PublicUser = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  role: Type.Union([Type.Literal('admin'), Type.Literal('user')]),
  createdAt: IsoDate,
  disabled: Type.Boolean(),
  hasPassword: Type.Boolean({ description: 'False for a user provisioned by an administrator’s first device for it, until a password is set' }),
  phoneNumber: Type.Union([Type.String(), Type.Null()], { description: 'The user’s own WhatsApp number (+digits): the login bot answers `/login` from it' }),
});

export function publicUser(user: User) {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    createdAt: user.createdAt.toISOString(),
    disabled: user.disabledAt !== null && user.disabledAt !== undefined,
    hasPassword: Boolean(user.passwordHash),
    phoneNumber: user.phoneNumber ?? null,
  };
}

const Role = Type.Union([Type.Literal('admin'), Type.Literal('user')]);
const Username = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@-]+$' });
const Password = Type.String({ minLength: 8, maxLength: 1024 });
export const PhoneNumber = Type.String({ minLength: 1, maxLength: 32, description: 'With its country code (+62 812 3456 7890); stored as +digits' });

// Administrators manage the platform's users (seed 004 groups admin routes under /api/whatsapp/admin).
const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const admin = { auth: 'admin', scope: 'admin' } as const;
  const tags = ['admin'];

  app.post('/api/whatsapp/admin/users', {
    config: admin,
    schema: {
      tags,
      summary: 'Create a user',
      body: Type.Object(
        { username: Username, password: Password, role: Type.Optional(Role), phoneNumber: Type.Optional(PhoneNumber) },
        { additionalProperties: false },
      ),
      response: { 201: ok(PublicUser), ...errors(400, 401, 403, 409, 429) },
    },
    handler: async (request, reply) => {
      const user = await createUser(authContext(request), { ...request.body, role: request.body.role ?? 'user' });
      return reply.code(201).send({ success: true, data: publicUser(user) });
    },
  });

  app.get('/api/whatsapp/admin/users', {
    config: admin,
    schema: { tags, summary: 'List users', querystring: PageQuery, response: { 200: ok(page(PublicUser)), ...errors(400, 401, 403, 429) } },
    handler: async (request) => {
      const result = await listUsers(authContext(request), request.query.limit, request.query.cursor);
      return { success: true, data: { items: result.items.map(publicUser), nextCursor: result.nextCursor } } as const;
    },
  });

  app.get('/api/whatsapp/admin/users/:id', {
    config: admin,
    schema: { tags, summary: 'Get a user', params: IdParams, response: { 200: ok(PublicUser), ...errors(401, 403, 404, 429) } },
    handler: async (request) => ({ success: true, data: publicUser(await findUser(authContext(request), request.params.id)) }) as const,
  });

  app.patch('/api/whatsapp/admin/users/:id', {
    config: admin,
    schema: {
      tags,
      summary: 'Change a user: password, role, phone number (null clears it), or disable (which stops all of its tokens at once)',
      params: IdParams,
      body: Type.Object(
        {
          password: Type.Optional(Password),
          role: Type.Optional(Role),
          disabled: Type.Optional(Type.Boolean()),
          phoneNumber: Type.Optional(Nullable(PhoneNumber)),
        },
        { additionalProperties: false, minProperties: 1 },
      ),
      response: { 200: ok(PublicUser), ...errors(400, 401, 403, 404, 409, 429) },
    },
    handler: async (request) =>
      ({ success: true, data: publicUser(await updateUser(authContext(request), request.params.id, request.body)) }) as const,
  });

  app.post('/api/whatsapp/admin/users/:id/login-tokens', {
    config: admin,
    schema: {
      tags,
      summary: 'Issue a one-time login token for a user (exchanged at POST /api/auth/login with {token})',
      params: IdParams,
      body: Type.Object({ ttlSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 3600 })) }, { additionalProperties: false }),
      response: {
        201: ok(Type.Object({ token: Type.String(), expiresAt: Type.Integer({ description: 'Unix time in milliseconds' }) })),
        ...errors(400, 401, 403, 404, 429),
      },
    },
    // The body is optional: no body means the default lifetime.
    preValidation: async (request) => {
      request.body ??= {};
    },
    handler: async (request, reply) => {
      const ctx = authContext(request);
      const user = await findUser(ctx, request.params.id);
      const { ttlSeconds } = request.body;
      const issued = await issueLoginToken(ctx, user, ttlSeconds === undefined ? undefined : ttlSeconds * 1000);
      return reply.code(201).send({ success: true, data: { token: issued.token, expiresAt: issued.expiresAt.getTime() } });
    },
  });
};

export default userRoutes;
