import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { TEMPLATE_NAME_PATTERN } from '../../domain/business-templates.ts';
import { AppError } from '../../domain/errors.ts';
import { MAX_TEXT_LENGTH } from '../../domain/messages.ts';
import { businessTypes, deleteSet, findSet, listSets, saveSet } from '../../templates/business-templates.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IsoDate, Nullable, ok } from '../schemas.ts';
import { BusinessType, Language } from '../template-schemas.ts';

// Seed 004's Business Templates: the shipped sets of its ten business types in English and Indonesian, each
// replaced for a user by their own of the same type and language, and a user's own types. Sends name a template
// instead of a text (`template` on POST /send and /send/bulk).

// Names checked by propertyNames: a Record's key pattern alone still lets other keys through as additional properties.
const Templates = Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH }), {
  propertyNames: { pattern: TEMPLATE_NAME_PATTERN },
  minProperties: 1,
  maxProperties: 100,
  description: 'Name → text with {variable} placeholders',
});
const Categories = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50, uniqueItems: true });
const SetView = Type.Object({
  businessType: Type.String(),
  language: Type.String(),
  displayName: Type.String(),
  templates: Type.Record(Type.String(), Type.String()),
  categories: Type.Array(Type.String()),
  isActive: Type.Boolean(),
  source: Type.String({ description: '`shipped` (the platform’s, read-only) or `custom` (yours)' }),
  updatedAt: Nullable(IsoDate),
});
const SetParams = Type.Object({ businessType: BusinessType, language: Language });

const businessTemplateRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['business-templates'];

  app.get('/api/business-templates', {
    config: { auth: 'any', scope: 'read' },
    schema: {
      tags,
      summary: 'Your business template sets: the shipped ones (each replaced by yours of the same type and language) and your own types',
      querystring: Type.Object({ language: Type.Optional(Language) }),
      response: { 200: ok(Type.Array(SetView)), ...errors(400, 401, 429) },
    },
    handler: async (request) => ({ success: true, data: await listSets(request.em, principalOf(request).userId, request.query.language) }) as const,
  });

  app.get('/api/business-templates/types', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: 'Business types: the shipped ten (seed 004), then yours', response: { 200: ok(Type.Array(Type.String())), ...errors(401, 429) } },
    handler: async (request) => ({ success: true, data: await businessTypes(request.em, principalOf(request).userId) }) as const,
  });

  app.get('/api/business-templates/:businessType/:language', {
    config: { auth: 'any', scope: 'read' },
    schema: { tags, summary: 'One set of templates', params: SetParams, response: { 200: ok(SetView), ...errors(400, 401, 404, 429) } },
    handler: async (request) => ({ success: true, data: await findSet(request.em, principalOf(request).userId, request.params.businessType, request.params.language) }) as const,
  });

  app.put('/api/business-templates/:businessType/:language', {
    config: { auth: 'any', scope: 'send' },
    schema: {
      tags,
      summary: 'Create or replace your set of this type and language (one of a shipped type replaces the shipped set for you); 201 when new',
      params: SetParams,
      body: Type.Object(
        {
          businessType: Type.Optional(BusinessType),
          language: Type.Optional(Language),
          displayName: Type.String({ minLength: 1, maxLength: 200 }),
          templates: Templates,
          categories: Type.Optional(Categories),
          isActive: Type.Optional(Type.Boolean({ default: true })),
        },
        { additionalProperties: false },
      ),
      response: { 200: ok(SetView), 201: ok(SetView), ...errors(400, 401, 429) },
    },
    handler: async (request, reply) => {
      const { businessType, language } = request.params;
      const body = request.body;
      for (const [field, value] of [['businessType', body.businessType], ['language', body.language]] as const) {
        if (value !== undefined && value !== request.params[field]) throw new AppError('VALIDATION_ERROR', `body ${field} "${value}" differs from the path's "${request.params[field]}"`);
      }
      const saved = await saveSet(request.em, principalOf(request).userId, {
        businessType,
        language,
        displayName: body.displayName,
        templates: body.templates,
        categories: body.categories ?? [],
        isActive: body.isActive ?? true,
      });
      return reply.code(saved.created ? 201 : 200).send({ success: true, data: saved.set });
    },
  });

  app.delete('/api/business-templates/:businessType/:language', {
    config: { auth: 'any', scope: 'send' },
    schema: {
      tags,
      summary: 'Delete your set; where it replaced a shipped one, the shipped one shows again (and is `data`). Shipped sets cannot be deleted (409 TEMPLATE_READ_ONLY)',
      params: SetParams,
      response: { 200: Type.Object({ success: Type.Literal(true), message: Type.String(), data: Nullable(SetView) }), ...errors(400, 401, 404, 409, 429) },
    },
    handler: async (request) => {
      const { businessType, language } = request.params;
      const shipped = await deleteSet(request.em, principalOf(request).userId, businessType, language);
      const message = shipped ? `Deleted; the shipped ${businessType}/${language} set shows again` : `Deleted ${businessType}/${language}`;
      return { success: true, message, data: shipped ?? null } as const;
    },
  });
};

export default businessTemplateRoutes;
