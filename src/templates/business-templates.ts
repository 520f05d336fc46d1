import type { EntityManager } from '@mikro-orm/postgresql';
import { keyOf, renderRef, type TemplateRef, type TemplateSet } from '../domain/business-templates.ts';
import { AppError } from '../domain/errors.ts';
import { sqlOf, type Sql } from '../events/event-store.ts';
import { SHIPPED_SETS, SHIPPED_TYPES } from './shipped-templates.ts';

// A user's business templates: the shipped sets, each replaced by the user's own of the same type and language,
// and the user's sets of other types. Another user's sets are never seen.

export interface TemplateView extends TemplateSet {
  // `shipped`: the platform's (read-only); `custom`: the user's own, which may replace a shipped one.
  source: 'shipped' | 'custom';
  updatedAt: string | null;
}

const SHIPPED = new Map(SHIPPED_SETS.map((set) => [keyOf(set), set]));
const shippedView = (set: TemplateSet): TemplateView => ({ ...set, source: 'shipped', updatedAt: null });

function customView(row: Record<string, unknown>): TemplateView {
  return {
    businessType: String(row.business_type),
    language: String(row.language),
    displayName: String(row.display_name),
    templates: row.templates as Record<string, string>,
    categories: row.categories as string[],
    isActive: Boolean(row.is_active),
    source: 'custom',
    updatedAt: new Date(row.updated_at as string).toISOString(),
  };
}

async function ownSets(sql: Sql, userId: number, language?: string): Promise<TemplateView[]> {
  const rows = await sql('select * from business_templates where user_id = ? and (?::text is null or language = ?) order by business_type, language', [
    userId,
    language ?? null,
    language ?? null,
  ]);
  return rows.map(customView);
}

// Shipped types first in the seed's order, then the user's own types by name; English before Indonesian as shipped.
export async function listSets(em: EntityManager, userId: number, language?: string): Promise<TemplateView[]> {
  const own = new Map((await ownSets(sqlOf(em), userId, language)).map((set) => [keyOf(set), set]));
  const shipped = SHIPPED_SETS.filter((set) => language === undefined || set.language === language).map((set) => own.get(keyOf(set)) ?? shippedView(set));
  return [...shipped, ...[...own.values()].filter((set) => !SHIPPED.has(keyOf(set)))];
}

export async function businessTypes(em: EntityManager, userId: number): Promise<string[]> {
  const rows = await sqlOf(em)('select distinct business_type from business_templates where user_id = ? order by business_type', [userId]);
  return [...new Set([...SHIPPED_TYPES, ...rows.map((row) => String(row.business_type))])];
}

async function ownSet(sql: Sql, userId: number, businessType: string, language: string): Promise<TemplateView | undefined> {
  const [row] = await sql('select * from business_templates where user_id = ? and business_type = ? and language = ?', [userId, businessType, language]);
  return row && customView(row);
}

export async function findSet(em: EntityManager, userId: number, businessType: string, language: string): Promise<TemplateView> {
  const own = await ownSet(sqlOf(em), userId, businessType, language);
  if (own) return own;
  const shipped = SHIPPED.get(keyOf({ businessType, language }));
  if (!shipped) throw new AppError('TEMPLATE_NOT_FOUND', `No business template set ${businessType}/${language} (GET /api/business-templates lists them)`);
  return shippedView(shipped);
}

// Creates the user's set of this type and language, or replaces it whole.
export async function saveSet(em: EntityManager, userId: number, set: TemplateSet): Promise<{ set: TemplateView; created: boolean }> {
  const [row] = await sqlOf(em)(
    `insert into business_templates (user_id, business_type, language, display_name, templates, categories, is_active)
       values (?, ?, ?, ?, ?::jsonb, ?::jsonb, ?)
     on conflict (user_id, business_type, language) do update set display_name = excluded.display_name, templates = excluded.templates,
       categories = excluded.categories, is_active = excluded.is_active, updated_at = now()
     returning *, (xmax = 0) as created`,
    [userId, set.businessType, set.language, set.displayName, JSON.stringify(set.templates), JSON.stringify(set.categories), set.isActive],
  );
  return { set: customView(row!), created: Boolean(row!.created) };
}

// Deletes the user's own set; a shipped set of the same type and language shows again (and is the answer).
export async function deleteSet(em: EntityManager, userId: number, businessType: string, language: string): Promise<TemplateView | undefined> {
  const deleted = await sqlOf(em)('delete from business_templates where user_id = ? and business_type = ? and language = ? returning id', [userId, businessType, language]);
  const shipped = SHIPPED.get(keyOf({ businessType, language }));
  if (!deleted.length) {
    if (shipped) throw new AppError('TEMPLATE_READ_ONLY', `${businessType}/${language} is a shipped set: PUT your own to replace it, with isActive false to hide it`);
    throw new AppError('TEMPLATE_NOT_FOUND', `No business template set ${businessType}/${language} of yours`);
  }
  return shipped && shippedView(shipped);
}

// The sets a batch of sends names, read once.
export async function setsFor(em: EntityManager, userId: number, refs: readonly TemplateRef[]): Promise<Map<string, TemplateSet>> {
  const wanted = [...new Set(refs.map(keyOf))];
  const found = new Map<string, TemplateSet>(wanted.flatMap((key) => (SHIPPED.has(key) ? [[key, SHIPPED.get(key)!] as const] : [])));
  if (!wanted.length) return found;
  const rows = await sqlOf(em)(`select * from business_templates where user_id = ? and (business_type || '/' || language) in (?)`, [userId, wanted]);
  for (const set of rows.map(customView)) found.set(keyOf(set), set);
  return found;
}

// The text of one send that names a template; a refusal is the request's error.
export async function renderForSend(em: EntityManager, userId: number, ref: TemplateRef): Promise<string> {
  const rendered = renderRef((await setsFor(em, userId, [ref])).get(keyOf(ref)), ref);
  if ('error' in rendered) throw new AppError(rendered.error, rendered.message);
  return rendered.text;
}
