// Business templates (seed 004): per business type and language, named texts with `{variable}` placeholders. The
// platform ships a set for each of the seed's ten types in English and Indonesian; a user's own set of the same
// type and language takes its place for that user, and a user may add types of their own. Pure: no I/O.
import { MAX_TEXT_LENGTH, renderTemplate } from './messages.ts';

export interface TemplateSet {
  businessType: string;
  language: string;
  displayName: string;
  // Name → text with `{variable}` placeholders.
  templates: Record<string, string>;
  categories: string[];
  isActive: boolean;
}

// What a send names instead of its text.
export interface TemplateRef {
  businessType: string;
  language: string;
  name: string;
  variables?: Record<string, string | number>;
}

export const BUSINESS_TYPE_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';
// ISO 639 with an optional region or script (en, id, pt-BR, zh-Hant).
export const LANGUAGE_PATTERN = '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$';
export const TEMPLATE_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_]{0,63}$';

export const keyOf = (ref: Pick<TemplateRef, 'businessType' | 'language'>) => `${ref.businessType}/${ref.language}`;

type Refusal = { error: 'TEMPLATE_NOT_FOUND' | 'TEMPLATE_INACTIVE' | 'VALIDATION_ERROR'; message: string };

// The text a reference names, unfilled, or why it names none.
export function templateOf(set: TemplateSet | undefined, ref: TemplateRef): { source: string } | Refusal {
  if (!set) return { error: 'TEMPLATE_NOT_FOUND', message: `No business template set ${keyOf(ref)} (GET /api/business-templates lists them)` };
  if (!set.isActive) return { error: 'TEMPLATE_INACTIVE', message: `The business template set ${keyOf(ref)} is inactive` };
  const source = Object.hasOwn(set.templates, ref.name) ? set.templates[ref.name] : undefined;
  if (source === undefined) return { error: 'TEMPLATE_NOT_FOUND', message: `The set ${keyOf(ref)} has no template "${ref.name}" (it has ${Object.keys(set.templates).join(', ')})` };
  return { source };
}

// The text a reference stands for, its variables filled (the reference's own, under the recipient's where both
// name one). A placeholder without a value is refused, as in any `{variable}` text.
export function renderRef(set: TemplateSet | undefined, ref: TemplateRef, recipientVariables?: Record<string, string | number>): { text: string } | Refusal {
  const found = templateOf(set, ref);
  if ('error' in found) return found;
  const where = `${keyOf(ref)}/${ref.name}`;
  const rendered = renderTemplate(found.source, { ...ref.variables, ...recipientVariables });
  if ('missing' in rendered) return { error: 'VALIDATION_ERROR', message: `no value for {${rendered.missing}} in template ${where}` };
  if (!rendered.text.trim()) return { error: 'VALIDATION_ERROR', message: `template ${where} renders blank` };
  if (rendered.text.length > MAX_TEXT_LENGTH) return { error: 'VALIDATION_ERROR', message: `template ${where} renders longer than ${MAX_TEXT_LENGTH} characters` };
  return rendered;
}
