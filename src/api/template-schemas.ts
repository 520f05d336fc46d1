import { Type } from 'typebox';
import { BUSINESS_TYPE_PATTERN, LANGUAGE_PATTERN } from '../domain/business-templates.ts';

// What the template routes and the sends that name a template share.

export const BusinessType = Type.String({ pattern: BUSINESS_TYPE_PATTERN, description: 'Lower case letters, digits, - and _ (restaurant, mycafe)' });
export const Language = Type.String({ pattern: LANGUAGE_PATTERN, description: 'ISO 639, optionally with a region (en, id, pt-BR)' });
export const Variables = Type.Record(Type.String(), Type.Union([Type.String({ maxLength: 1000 }), Type.Number()]), { description: 'Values for {name} placeholders' });

export const TemplateReference = Type.Object(
  {
    businessType: BusinessType,
    language: Language,
    name: Type.String({ minLength: 1, maxLength: 64 }),
    variables: Type.Optional(Variables),
  },
  { additionalProperties: false, description: 'A business template (GET /api/business-templates) with its {variables}, instead of `message`' },
);
