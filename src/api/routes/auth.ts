import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { loginWithOneTimeToken, loginWithPassword, type LoginResult } from '../../auth/login.ts';
import { logout, refreshSession } from '../../auth/sessions.ts';
import { findUser, updateUser } from '../../auth/users.ts';
import { authContext } from '../plugins/context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, Nullable, ok, Success } from '../schemas.ts';
import { PhoneNumber, publicUser, PublicUser } from './users.ts';

const PasswordLogin = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
const TokenLogin = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 512, description: 'A one-time login token' }) },
  { additionalProperties: false },
);
const IssuedToken = Type.Object({
  token: Type.String(),
  expiresAt: Type.Integer({ description: 'Unix time in milliseconds' }),
});

// Seed 000 reads the token at the top level (`{token}`), seed 002 under `data`: the login answer carries both.
const LoginAnswer = Type.Object({ ...IssuedToken.properties, user: PublicUser });

function login(ctx: Parameters<typeof loginWithPassword>[0], body: { username: string; password: string } | { token: string }): Promise<LoginResult> {
  return 'token' in body ? loginWithOneTimeToken(ctx, body.token) : loginWithPassword(ctx, body.username, body.password);
}

// Seeds 000–002 (`/api/auth/*`) and seed 003's `POST /api/login`, answered from the same code.
const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const publicLogin = { auth: 'public', rateLimitGroup: 'auth' } as const;

  app.post('/api/auth/login', {
    config: publicLogin,
    schema: {
      tags: ['auth'],
      summary: 'Log in with a username and password, or exchange a one-time login token',
      body: Type.Union([PasswordLogin, TokenLogin]),
      response: { 200: Type.Object({ success: Type.Literal(true), ...LoginAnswer.properties, data: LoginAnswer }), ...errors(400, 401, 429) },
    },
    handler: async (request) => {
      const result = await login(authContext(request), request.body);
      const answer = { token: result.token, expiresAt: result.expiresAt.getTime(), user: publicUser(result.user) };
      return { success: true, ...answer, data: answer } as const;
    },
  });

  app.post('/api/login', {
    config: publicLogin,
    schema: {
      tags: ['auth'],
      summary: 'Log in (seed 003 shape)',
      body: PasswordLogin,
      response: {
        200: Type.Object({ success: Type.Literal(true), token: Type.String(), user: Type.Object({ id: Type.Integer(), username: Type.String() }) }),
        ...errors(400, 401, 429),
      },
    },
    handler: async (request) => {
      const result = await login(authContext(request), request.body);
      return { success: true, token: result.token, user: { id: result.user.id, username: result.user.username } } as const;
    },
  });

  app.get('/api/auth/verify', {
    config: { auth: 'any', scope: null },
    schema: {
      tags: ['auth'],
      summary: 'Check the presented credential and say whose it is',
      response: {
        200: ok(
          Type.Object({
            valid: Type.Literal(true),
            userId: Type.String({ description: 'Your identifier for the user (seed 004 `userId`, our username)' }),
            id: Type.Integer({ description: "The user's numeric id (admin routes)" }),
            username: Type.String(),
            role: Type.String(),
            isMaster: Type.Boolean({ description: 'Whether the caller is an administrator' }),
            via: Type.String({ description: 'jwt, api-token, device-key or admin-token' }),
            deviceId: Type.Optional(Type.Integer({ description: 'The only device a device API key may act on' })),
            expiresAt: Type.Union([Type.Integer(), Type.Null()]),
          }),
        ),
        ...errors(401),
      },
    },
    handler: async (request) => {
      const p = principalOf(request);
      return {
        success: true,
        data: {
          valid: true,
          userId: p.username,
          id: p.userId,
          username: p.username,
          role: p.role,
          isMaster: p.role === 'admin',
          via: p.via,
          ...(p.deviceId === undefined ? {} : { deviceId: p.deviceId }),
          expiresAt: p.expiresAt?.getTime() ?? null,
        },
      } as const;
    },
  });

  app.post('/api/auth/refresh', {
    config: { scope: null },
    schema: {
      tags: ['auth'],
      summary: 'Exchange the current token for a new one; the current one stops working',
      response: { 200: ok(IssuedToken), ...errors(401) },
    },
    handler: async (request) => {
      const issued = await refreshSession(authContext(request), principalOf(request));
      return { success: true, data: { token: issued.token, expiresAt: issued.expiresAt.getTime() } } as const;
    },
  });

  app.get('/api/auth/me', {
    config: { scope: null },
    schema: { tags: ['auth'], summary: 'The calling user', response: { 200: ok(PublicUser), ...errors(401) } },
    handler: async (request) => ({ success: true, data: publicUser(await findUser(authContext(request), principalOf(request).userId)) }) as const,
  });

  app.patch('/api/auth/me', {
    config: { scope: 'account' },
    schema: {
      tags: ['auth'],
      summary: 'Set or clear (null) your own phone number, from which the login bot answers `/login`',
      body: Type.Object({ phoneNumber: Nullable(PhoneNumber) }, { additionalProperties: false }),
      response: { 200: ok(PublicUser), ...errors(400, 401, 409) },
    },
    handler: async (request) => {
      const user = await updateUser(authContext(request), principalOf(request).userId, { phoneNumber: request.body.phoneNumber });
      return { success: true, data: publicUser(user) } as const;
    },
  });

  app.post('/api/auth/logout', {
    config: { scope: null },
    schema: { tags: ['auth'], summary: 'Invalidate the current token at once', response: { 200: Success, ...errors(401) } },
    handler: async (request) => {
      await logout(authContext(request), principalOf(request));
      return { success: true } as const;
    },
  });
};

export default authRoutes;
