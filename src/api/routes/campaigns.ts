import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { findDevice, findDeviceBySession } from '../../devices/devices.ts';
import { AppError } from '../../domain/errors.ts';
import { MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH } from '../../domain/messages.ts';
import { cancelCampaign, createCampaign, findCampaign, pauseCampaign, resumeCampaign } from '../../messages/campaigns.ts';
import { SendQueues } from '../../workers/sending/send-queues.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IsoDate, ok } from '../schemas.ts';
import { TemplateReference, Variables } from '../template-schemas.ts';

// Bulk campaigns (seed 004's /send/bulk): one request, up to 10,000 recipients, each validated on its own (a bad
// row is reported, the rest go out), per-recipient `{variable}` substitution, progress on GET and on SSE
// (`campaign.progressed`, `campaign.completed`), pause, resume and cancel.

const MAX_RECIPIENTS = 10_000;
const Rejected = Type.Array(Type.Object({ index: Type.Integer(), phoneNumber: Type.String(), error: Type.String() }));
const CampaignView = Type.Object({
  id: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  deviceId: Type.Integer(),
  state: Type.String({ description: 'running, paused, cancelled or completed' }),
  total: Type.Integer(),
  accepted: Type.Integer(),
  rejected: Rejected,
  counts: Type.Record(Type.String(), Type.Integer(), { description: 'Messages at each status now' }),
  progress: Type.Number({ description: 'Percent of accepted messages no longer waiting' }),
  createdAt: IsoDate,
  completedAt: Type.Union([IsoDate, Type.Null()]),
});
const CampaignParams = Type.Object({ campaignId: Type.String({ minLength: 1, maxLength: 64 }) });

const campaignRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['campaigns'];
  const queues = new SendQueues(app.queueBackend);
  app.addHook('onClose', () => queues.close());

  app.post('/api/whatsapp/send/bulk', {
    config: { scope: 'send', rateLimitGroup: 'sending' },
    // Ten thousand recipients with their variables are a few megabytes.
    bodyLimit: 16 * 1024 * 1024,
    schema: {
      tags,
      summary: 'Start a campaign: one message per recipient: a text (its own, or the campaign message with {variables} filled in), or a file of yours with its caption',
      body: Type.Object({
        sessionId: Type.String({ minLength: 1, maxLength: 200 }),
        name: Type.Optional(Type.String({ maxLength: 200 })),
        message: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH, description: 'With {variable} placeholders' })),
        template: Type.Optional(TemplateReference),
        fileId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A file of yours for every recipient without their own (the message is its caption)' })),
        recipients: Type.Array(
          Type.Object({
            phoneNumber: Type.String({ maxLength: 64 }),
            message: Type.Optional(Type.String({ maxLength: MAX_TEXT_LENGTH })),
            fileId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A file of yours (POST /api/whatsapp/files/upload), sent as the kind it is' })),
            caption: Type.Optional(Type.String({ maxLength: MAX_CAPTION_LENGTH, description: 'With {variable} placeholders' })),
            variables: Type.Optional(Variables),
            template: Type.Optional(TemplateReference),
          }),
          { minItems: 1, maxItems: MAX_RECIPIENTS },
        ),
        sendAt: Type.Optional(Type.String({ format: 'date-time' })),
        priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
      }),
      response: {
        202: ok(Type.Object({ campaignId: Type.String(), total: Type.Integer(), accepted: Type.Integer(), rejected: Rejected })),
        ...errors(400, 401, 404, 409, 413, 429),
      },
    },
    handler: async (request, reply) => {
      const { sessionId, name, message, template, fileId, recipients, sendAt, priority } = request.body;
      const device = await findDeviceBySession(request.em, principalOf(request), sessionId);
      if (device.status === 'logged_out') throw new AppError('DEVICE_NOT_CONNECTED', 'The device is logged out; link it again before sending');
      const created = await createCampaign(request.em, {
        device: { id: device.id, userId: device.user.id, sessionId: device.sessionId },
        recipients,
        ...(name ? { name } : {}),
        ...(message ? { message } : {}),
        ...(template ? { template } : {}),
        ...(fileId ? { fileId } : {}),
        ...(sendAt ? { sendAt: new Date(sendAt) } : {}),
        ...(priority === undefined ? {} : { priority }),
      });
      return reply.code(202).send({ success: true, data: created });
    },
  });

  const load = async (request: FastifyRequest, campaignId: string) => {
    const principal = principalOf(request);
    const campaign = await findCampaign(request.em, principal.role === 'admin' ? undefined : principal.userId, campaignId, principal.deviceIds);
    // The device answers for tenancy (and a device key for its own device only).
    const device = await findDevice(request.em, principal, campaign.deviceId);
    return { campaign, owner: { tenantId: device.user.id, sessionId: device.sessionId } };
  };

  app.get('/api/whatsapp/campaigns/:campaignId', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: 'A campaign: state, counts per status, progress', params: CampaignParams, response: { 200: ok(CampaignView), ...errors(401, 404, 429) } },
    handler: async (request) => ({ success: true, data: (await load(request, request.params.campaignId)).campaign }) as const,
  });

  // Answers with the campaign as the action left it (the read model catches up a moment later).
  const control = (action: 'pause' | 'resume' | 'cancel', state: string, summary: string, run: typeof pauseCampaign) =>
    app.post(`/api/whatsapp/campaigns/:campaignId/${action}`, {
      config: { scope: 'send' },
      schema: { tags, summary, params: CampaignParams, response: { 200: ok(CampaignView), ...errors(400, 401, 404, 429) } },
      handler: async (request) => {
        const { campaign, owner } = await load(request, (request.params as { campaignId: string }).campaignId);
        await run({ em: request.em, coordination: app.coordination, queues }, campaign, owner);
        return { success: true, data: { ...(await findCampaign(request.em, undefined, campaign.id)), state } } as const;
      },
    });
  control('pause', 'paused', 'Pause a campaign: its waiting messages stay queued until it resumes', pauseCampaign);
  control('resume', 'running', 'Resume a paused campaign', resumeCampaign);
  control('cancel', 'cancelled', 'Cancel a campaign: its waiting messages become cancelled', async (...args) => void (await cancelCampaign(...args)));
};

export default campaignRoutes;
