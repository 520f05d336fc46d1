import { Type, type Static } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { MAX_TEXT_LENGTH } from '../../domain/messages.ts';
import { TIME_OF_DAY, type Script, type WarmerAction } from '../../domain/warmer.ts';
import { sqlOf } from '../../events/event-store.ts';
import { findWarmerCampaign, type WarmerCampaign } from '../../warmer/campaign-rows.ts';
import { addWarmerScript, campaignsOf, controlWarmerCampaign, createWarmerCampaign, deleteWarmerCampaign, updateWarmerCampaign, type WarmerContext } from '../../warmer/campaigns.ts';
import { DEFAULT_SCRIPTS } from '../../warmer/default-scripts.ts';
import { scriptsOf } from '../../warmer/planning.ts';
import { logsOf, statsOf, warmerDevicesOf } from '../../warmer/reports.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams, IsoDate, Nullable, ok, page, PageQuery, Success } from '../schemas.ts';
import { Variables } from '../template-schemas.ts';

// Seed 004's Warmer System: campaigns that warm a device up by conversations with target numbers on a schedule, their
// scripts, stats and logs. The conversations themselves are the worker's (src/warmer/reactor.ts, step-job.ts).

const Slot = Type.Object(
  {
    time: Type.String({ pattern: TIME_OF_DAY, description: 'HH:MM (or HH:MM:SS) in WARMER_TIME_ZONE' }),
    count: Type.Integer({ minimum: 1, maximum: 50, description: 'Conversations started at this time' }),
  },
  { additionalProperties: false },
);
const Schedule = Type.Object(
  {
    startDate: Type.String({ format: 'date' }),
    endDate: Type.String({ format: 'date', description: 'The last day, included' }),
    timesPerDay: Type.Array(Slot, { minItems: 1, maxItems: 48 }),
  },
  { additionalProperties: false },
);
const settingsFields = {
  randomizeDelay: Type.Boolean({ description: 'Wait a random minDelay..maxDelay seconds between conversations (else minDelay)' }),
  minDelay: Type.Integer({ minimum: 0, maximum: 86_400, description: 'Seconds' }),
  maxDelay: Type.Integer({ minimum: 0, maximum: 86_400, description: 'Seconds' }),
  naturalTyping: Type.Boolean({ description: 'Show typing before each message' }),
};
const Settings = Type.Object(settingsFields);
const SettingsPatch = Type.Partial(Type.Object(settingsFields), { additionalProperties: false });
const Targets = Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { minItems: 1, maxItems: 100, description: 'Numbers to hold conversations with' });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Step = Type.Object(
  {
    sender: Type.Union([Type.Literal('bot'), Type.Literal('user')], { description: 'bot: the warmed device; user: the target (only when it is a device of yours)' }),
    message: Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH, description: 'With {variable} placeholders' }),
    delay: Type.Integer({ minimum: 0, maximum: 3_600_000, description: 'Milliseconds after the step before' }),
  },
  { additionalProperties: false },
);
const ScriptBody = Type.Object(
  {
    name: Name,
    messages: Type.Array(Step, { minItems: 1, maxItems: 50 }),
    variables: Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), { maxItems: 50, default: [] }),
  },
  { additionalProperties: false },
);
const ScriptView = Type.Object({ id: Nullable(Type.Integer()), name: Type.String(), messages: Type.Array(Step), variables: Type.Array(Type.String()) });
const Status = Type.Union([Type.Literal('draft'), Type.Literal('active'), Type.Literal('paused'), Type.Literal('stopped'), Type.Literal('completed')]);
const CampaignView = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  deviceId: Type.Integer(),
  targetNumbers: Type.Array(Type.String()),
  schedule: Schedule,
  settings: Settings,
  variables: Type.Record(Type.String(), Type.String()),
  status: Status,
  position: Nullable(Type.Object({ day: Type.Integer(), slot: Type.Integer(), conversation: Type.Integer(), step: Type.Integer(), conversationNo: Type.Integer() })),
  nextStepAt: Nullable(IsoDate),
  templates: Type.Array(ScriptView, { description: 'Its own conversation scripts (none: the defaults are used)' }),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
const Stats = Type.Object({
  campaignId: Type.Integer(),
  totalSent: Type.Integer(),
  totalSuccess: Type.Integer({ description: 'Reached sent or beyond' }),
  totalFailed: Type.Integer(),
  successRate: Type.Number({ description: 'Percent, two decimals' }),
  avgResponseTime: Type.Integer({ description: 'Milliseconds between a bot message and the answer in its conversation' }),
  conversationsStarted: Type.Integer(),
  activeConversations: Type.Integer(),
});
const LogEntry = Type.Object({
  id: Type.Integer(),
  conversationNo: Type.Integer(),
  day: Type.Integer(),
  slot: Type.Integer(),
  conversation: Type.Integer(),
  step: Type.Integer(),
  sender: Type.String(),
  script: Type.String(),
  from: Nullable(Type.String()),
  to: Type.String(),
  message: Type.String(),
  messageId: Nullable(Type.String()),
  status: Type.String({ description: 'The message’s status now (queued, sent, delivered, read, failed…)' }),
  error: Nullable(Type.String()),
  queuedAt: IsoDate,
  sentAt: Nullable(IsoDate),
});
const Device = Type.Object({ id: Type.Integer(), alias: Type.String(), sessionId: Type.String(), phoneNumber: Type.String(), status: Type.String() });

const stringValues = (variables: Record<string, string | number> | undefined) => variables && Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)]));

function viewOf(campaign: WarmerCampaign, scripts: (Script & { id: number | null })[]): Static<typeof CampaignView> {
  const { cursor, conversation } = campaign;
  return {
    id: campaign.id,
    name: campaign.name,
    deviceId: campaign.deviceId,
    targetNumbers: campaign.targetNumbers.map((digits) => `+${digits}`),
    schedule: campaign.schedule,
    settings: campaign.settings,
    variables: campaign.variables,
    status: campaign.status,
    position: cursor && conversation && { ...cursor, conversationNo: conversation.no },
    nextStepAt: campaign.status === 'active' || campaign.status === 'paused' ? (campaign.nextAt?.toISOString() ?? null) : null,
    templates: scripts,
    createdAt: campaign.createdAt.toISOString(),
    updatedAt: campaign.updatedAt.toISOString(),
  };
}

const warmerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['warmer'];
  const context = (request: FastifyRequest): WarmerContext => ({ em: request.em, principal: principalOf(request), timeZone: app.config.warmerTimeZone, now: app.clock() });
  const view = async (request: FastifyRequest, id: number) => {
    const sql = sqlOf(request.em);
    const campaign = await findWarmerCampaign(sql, principalOf(request), id);
    return viewOf(campaign, await scriptsOf(sql, id));
  };

  app.post('/api/warmer/campaigns', {
    config: { auth: 'any', scope: 'send' },
    schema: {
      tags,
      summary: 'Create a warmer campaign (seed 004): a draft, unless `status` is active',
      description:
        'At each `timesPerDay` time (WARMER_TIME_ZONE) of each day from startDate to endDate, `count` conversations start, each with the next target in turn. The bot side is sent by `deviceId`; the user side by the target when it is a connected device of yours (else skipped). `minDelay`/`maxDelay` are seconds between conversations.',
      body: Type.Object(
        {
          name: Name,
          deviceId: Type.Integer({ minimum: 1 }),
          targetNumbers: Targets,
          schedule: Schedule,
          settings: Type.Optional(SettingsPatch),
          variables: Type.Optional(Variables),
          status: Type.Optional(Type.Union([Type.Literal('draft'), Type.Literal('active')])),
        },
        { additionalProperties: false },
      ),
      response: { 201: ok(CampaignView), ...errors(400, 401, 404, 409, 429) },
    },
    handler: async (request, reply) => {
      const { variables, ...input } = request.body;
      const id = await createWarmerCampaign(context(request), { ...input, ...(variables ? { variables: stringValues(variables)! } : {}) });
      return reply.code(201).send({ success: true, data: await view(request, id) });
    },
  });

  app.get('/api/warmer/campaigns', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: 'Your warmer campaigns (seed 004)', response: { 200: ok(Type.Array(CampaignView)), ...errors(401, 429) } },
    handler: async (request) => {
      const campaigns = await campaignsOf(request.em, principalOf(request));
      return { success: true, data: await Promise.all(campaigns.map((c) => view(request, c.id))) } as const;
    },
  });

  app.get('/api/warmer/campaigns/:id', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: 'A warmer campaign with its scripts and position (seed 004)', params: IdParams, response: { 200: ok(CampaignView), ...errors(400, 401, 404, 429) } },
    handler: async (request) => ({ success: true, data: await view(request, request.params.id) }) as const,
  });

  app.put('/api/warmer/campaigns/:id', {
    config: { auth: 'any', scope: 'send' },
    schema: {
      tags,
      summary: 'Change a warmer campaign (seed 004); fields left out keep their values',
      description: '`status`: active (start a draft, resume a paused one), paused, stopped. The schedule and device change only while it is a draft.',
      params: IdParams,
      body: Type.Object(
        {
          name: Type.Optional(Name),
          deviceId: Type.Optional(Type.Integer({ minimum: 1 })),
          targetNumbers: Type.Optional(Targets),
          schedule: Type.Optional(Schedule),
          settings: Type.Optional(SettingsPatch),
          variables: Type.Optional(Variables),
          status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('stopped')])),
        },
        { additionalProperties: false },
      ),
      response: { 200: ok(CampaignView), ...errors(400, 401, 404, 409, 429) },
    },
    handler: async (request) => {
      const { variables, ...patch } = request.body;
      await updateWarmerCampaign(context(request), request.params.id, { ...patch, ...(variables ? { variables: stringValues(variables)! } : {}) });
      return { success: true, data: await view(request, request.params.id) } as const;
    },
  });

  app.delete('/api/warmer/campaigns/:id', {
    config: { auth: 'any', scope: 'send' },
    schema: { tags, summary: 'Delete a warmer campaign and its scripts (seed 004); its waiting step is dropped', params: IdParams, response: { 200: Success, ...errors(400, 401, 404, 429) } },
    handler: async (request) => {
      await deleteWarmerCampaign(context(request), request.params.id);
      return { success: true } as const;
    },
  });

  const control = (action: WarmerAction, path: string, summary: string) =>
    app.post(`/api/warmer/campaigns/:id/${path}`, {
      config: { auth: 'any', scope: 'send' },
      schema: { tags, summary, params: IdParams, response: { 200: ok(CampaignView), ...errors(400, 401, 404, 409, 429) } },
      handler: async (request) => {
        const { id } = request.params as { id: number };
        await controlWarmerCampaign(context(request), id, action);
        return { success: true, data: await view(request, id) } as const;
      },
    });
  control('pause', 'pause', 'Pause an active warmer campaign (seed 004): no further step is sent until it resumes');
  control('resume', 'resume', 'Resume a paused warmer campaign (seed 004) from the step it was at');
  control('stop', 'stop', 'Stop a warmer campaign for good (seed 004)');

  app.post('/api/warmer/campaigns/:id/templates', {
    config: { auth: 'any', scope: 'send' },
    schema: {
      tags,
      summary: 'Add a conversation script to a campaign (seed 004); its conversations take the scripts in turn',
      description: 'Every {variable} a message uses must be listed in `variables`; values come from the campaign’s `variables`, else plausible ones are made up.',
      params: IdParams,
      body: ScriptBody,
      response: { 201: ok(ScriptView), ...errors(400, 401, 404, 429) },
    },
    handler: async (request, reply) => {
      const id = await addWarmerScript(context(request), request.params.id, request.body);
      return reply.code(201).send({ success: true, data: { id, ...request.body } });
    },
  });

  app.get('/api/warmer/campaigns/:id/stats', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: "A warmer campaign's statistics (seed 004)", params: IdParams, response: { 200: ok(Stats), ...errors(400, 401, 404, 429) } },
    handler: async (request) => {
      const sql = sqlOf(request.em);
      return { success: true, data: await statsOf(sql, await findWarmerCampaign(sql, principalOf(request), request.params.id)) } as const;
    },
  });

  app.get('/api/warmer/campaigns/:id/logs', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: "A warmer campaign's messages, newest first (seed 004)", params: IdParams, querystring: PageQuery, response: { 200: ok(page(LogEntry)), ...errors(400, 401, 404, 429) } },
    handler: async (request) => {
      const sql = sqlOf(request.em);
      const campaign = await findWarmerCampaign(sql, principalOf(request), request.params.id);
      return { success: true, data: await logsOf(sql, campaign, request.query.limit, request.query.cursor) } as const;
    },
  });

  app.get('/api/warmer/devices', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: 'Your devices that can take part in warm-up (seed 004): connected, with their number', response: { 200: ok(Type.Array(Device)), ...errors(401, 429) } },
    handler: async (request) => ({ success: true, data: await warmerDevicesOf(sqlOf(request.em), principalOf(request)) }) as const,
  });

  app.get('/api/warmer/templates/defaults', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: 'The conversation scripts a campaign without its own uses (seed 004)', response: { 200: ok(Type.Array(ScriptView)), ...errors(401, 429) } },
    handler: async () => ({ success: true, data: DEFAULT_SCRIPTS.map((script) => ({ id: null, ...script })) }) as const,
  });
};

export default warmerRoutes;
