import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { clearLoginBot, currentLoginBot, designateLoginBot } from '../../auth/login-bot.ts';
import type { LoginBot } from '../../db/entities/login-bot.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IsoDate, Nullable, ok, Success } from '../schemas.ts';

const LoginBotView = Type.Object({
  deviceId: Type.Integer(),
  sessionId: Type.String(),
  phoneNumber: Nullable(Type.String({ description: 'The number users write `/login` to, once the device is linked' })),
  status: Type.String(),
  designatedAt: IsoDate,
});

function view(bot: LoginBot) {
  return {
    deviceId: bot.device.id,
    sessionId: bot.device.sessionId,
    phoneNumber: bot.device.phoneNumber ?? null,
    status: bot.device.status,
    designatedAt: bot.designatedAt.toISOString(),
  };
}

// Seed 002's bot number: the device that answers `/login` with a one-time login token (see README).
const loginBotRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const config = { auth: 'admin', scope: 'admin' } as const;
  const tags = ['admin'];

  app.get('/api/whatsapp/admin/login-bot', {
    config,
    schema: { tags, summary: 'The device that answers `/login` on WhatsApp', response: { 200: ok(LoginBotView), ...errors(401, 403, 404, 429) } },
    handler: async (request) => ({ success: true, data: view(await currentLoginBot(request.em)) }) as const,
  });

  app.put('/api/whatsapp/admin/login-bot', {
    config,
    schema: {
      tags,
      summary: 'Designate one of your devices to answer `/login` with a one-time login token (messages from then on)',
      body: Type.Object({ deviceId: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
      response: { 200: ok(LoginBotView), ...errors(400, 401, 403, 404, 429) },
    },
    handler: async (request) => {
      const bot = await designateLoginBot(request.em, principalOf(request), request.body.deviceId, request.server.clock());
      return { success: true, data: view(bot) } as const;
    },
  });

  app.delete('/api/whatsapp/admin/login-bot', {
    config,
    schema: { tags, summary: 'Stop answering `/login` on WhatsApp', response: { 200: Success, ...errors(401, 403, 429) } },
    handler: async (request) => {
      await clearLoginBot(request.em);
      return { success: true } as const;
    },
  });
};

export default loginBotRoutes;
