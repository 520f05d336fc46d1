import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config.ts';
import { AppError } from '../domain/errors.ts';
import { sqlOf, type Row } from '../events/event-store.ts';
import { open, seal } from '../secret-box.ts';
import type { ProviderKind } from './providers.ts';

// The providers and models an administrator offers (seed 004's Admin Operations). A provider's API key is sealed
// under ENCRYPTION_KEY, bound to the provider's id, and never leaves the platform: views say whether one is set.

export interface ProviderView {
  id: number;
  name: string;
  displayName: string;
  kind: ProviderKind;
  endpoint: string | null;
  hasApiKey: boolean;
  status: 'active' | 'inactive';
  createdAt: string;
  updatedAt: string;
}

export interface ModelView {
  id: number;
  providerId: number;
  name: string;
  displayName: string;
  inputCost: number;
  outputCost: number;
  maxTokens: number | null;
  contextWindow: number | null;
  status: 'active' | 'inactive';
  createdAt: string;
  updatedAt: string;
}

export interface ProviderInput {
  name: string;
  displayName?: string;
  kind?: ProviderKind;
  endpoint?: string | null;
  apiKey?: string | null;
  status?: 'active' | 'inactive';
}

export interface ModelInput {
  name: string;
  providerId: number;
  displayName?: string;
  inputCost?: number;
  outputCost?: number;
  maxTokens?: number | null;
  contextWindow?: number | null;
  status?: 'active' | 'inactive';
}

const boundTo = (id: number) => `ai-provider:${id}`;
const iso = (value: unknown) => new Date(value as string).toISOString();

const providerView = (row: Row): ProviderView => ({
  id: Number(row.id),
  name: String(row.name),
  displayName: String(row.display_name),
  kind: row.kind as ProviderKind,
  endpoint: (row.endpoint as string | null) ?? null,
  hasApiKey: row.api_key !== null,
  status: row.status as ProviderView['status'],
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
});

const modelView = (row: Row): ModelView => ({
  id: Number(row.id),
  providerId: Number(row.provider_id),
  name: String(row.name),
  displayName: String(row.display_name),
  inputCost: Number(row.input_cost),
  outputCost: Number(row.output_cost),
  maxTokens: row.max_tokens === null ? null : Number(row.max_tokens),
  contextWindow: row.context_window === null ? null : Number(row.context_window),
  status: row.status as ModelView['status'],
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
});

// The built-in names are their kinds; any other provider speaks the OpenAI API at its own endpoint.
export const kindFor = (name: string, kind?: ProviderKind): ProviderKind => kind ?? (name === 'openai' || name === 'anthropic' ? name : 'openai-compatible');

function checkProvider(kind: ProviderKind, endpoint: string | null | undefined): void {
  if (kind === 'openai-compatible' && !endpoint) throw new AppError('INVALID_AI_CONFIG', 'An OpenAI-compatible provider needs its endpoint (e.g. http://localhost:11434/v1)');
  if (endpoint && !/^https?:\/\/[^\s/]+/.test(endpoint)) throw new AppError('INVALID_AI_CONFIG', `endpoint "${endpoint}" must be an http(s) URL`);
}

export async function listProviders(em: EntityManager): Promise<ProviderView[]> {
  return (await sqlOf(em)('select * from ai_providers order by id')).map(providerView);
}

export async function getProvider(em: EntityManager, id: number): Promise<ProviderView> {
  const [row] = await sqlOf(em)('select * from ai_providers where id = ?', [id]);
  if (!row) throw new AppError('NOT_FOUND', `No AI provider ${id}`);
  return providerView(row);
}

export async function createProvider(em: EntityManager, key: Buffer, input: ProviderInput): Promise<ProviderView> {
  const kind = kindFor(input.name, input.kind);
  checkProvider(kind, input.endpoint);
  const sql = sqlOf(em);
  const [next] = await sql(`select nextval('ai_providers_id_seq')::int as id`);
  const id = Number(next!.id);
  await sql('insert into ai_providers (id, name, display_name, kind, endpoint, api_key, status) values (?, ?, ?, ?, ?, ?, ?)', [
        id,
        input.name,
        input.displayName ?? input.name,
        kind,
        input.endpoint ?? null,
        input.apiKey ? seal(key, input.apiKey, boundTo(id)) : null,
        input.status ?? 'active',
      ]);
  return getProvider(em, id);
}

export async function updateProvider(em: EntityManager, key: Buffer, id: number, patch: Partial<ProviderInput>): Promise<ProviderView> {
  const current = await getProvider(em, id);
  const name = patch.name ?? current.name;
  const kind = patch.kind ?? (patch.name ? kindFor(name) : current.kind);
  const endpoint = patch.endpoint === undefined ? current.endpoint : patch.endpoint;
  checkProvider(kind, endpoint);
  // A key left out of the patch stays; null removes it.
  const keyChanges = patch.apiKey !== undefined;
  const sealedKey = patch.apiKey ? seal(key, patch.apiKey, boundTo(id)) : null;
  await sqlOf(em)(
    `update ai_providers set name = ?, display_name = ?, kind = ?, endpoint = ?, status = ?,
       api_key = case when ?::boolean then ?::text else api_key end, updated_at = now() where id = ?`,
    [name, patch.displayName ?? current.displayName, kind, endpoint, patch.status ?? current.status, keyChanges, sealedKey, id],
  );
  return getProvider(em, id);
}

export async function deleteProvider(em: EntityManager, id: number): Promise<void> {
  const rows = await sqlOf(em)('delete from ai_providers where id = ? returning id', [id]);
  if (!rows.length) throw new AppError('NOT_FOUND', `No AI provider ${id}`);
}

export async function listModels(em: EntityManager, providerId?: number): Promise<ModelView[]> {
  const rows = await sqlOf(em)('select * from ai_models where ?::int is null or provider_id = ? order by id', [providerId ?? null, providerId ?? null]);
  return rows.map(modelView);
}

export async function getModel(em: EntityManager, id: number): Promise<ModelView> {
  const [row] = await sqlOf(em)('select * from ai_models where id = ?', [id]);
  if (!row) throw new AppError('NOT_FOUND', `No AI model ${id}`);
  return modelView(row);
}

export async function createModel(em: EntityManager, input: ModelInput): Promise<ModelView> {
  const sql = sqlOf(em);
  if (!(await sql('select 1 from ai_providers where id = ?', [input.providerId])).length) throw new AppError('INVALID_AI_CONFIG', `No AI provider ${input.providerId}`);
  const [row] = await sql(
    `insert into ai_models (provider_id, name, display_name, input_cost, output_cost, max_tokens, context_window, status) values (?, ?, ?, ?, ?, ?, ?, ?) returning id`,
    [input.providerId, input.name, input.displayName ?? input.name, input.inputCost ?? 0, input.outputCost ?? 0, input.maxTokens ?? null, input.contextWindow ?? null, input.status ?? 'active'],
  );
  return getModel(em, Number(row!.id));
}

export async function updateModel(em: EntityManager, id: number, patch: Partial<ModelInput>): Promise<ModelView> {
  const current = await getModel(em, id);
  const next = { ...current, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as ModelView;
  if (next.providerId !== current.providerId && !(await sqlOf(em)('select 1 from ai_providers where id = ?', [next.providerId])).length) {
    throw new AppError('INVALID_AI_CONFIG', `No AI provider ${next.providerId}`);
  }
  await sqlOf(em)(
    `update ai_models set provider_id = ?, name = ?, display_name = ?, input_cost = ?, output_cost = ?, max_tokens = ?, context_window = ?, status = ?, updated_at = now() where id = ?`,
    [next.providerId, next.name, next.displayName, next.inputCost, next.outputCost, next.maxTokens, next.contextWindow, next.status, id],
  );
  return getModel(em, id);
}

export async function deleteModel(em: EntityManager, id: number): Promise<void> {
  const rows = await sqlOf(em)('delete from ai_models where id = ? returning id', [id]);
  if (!rows.length) throw new AppError('NOT_FOUND', `No AI model ${id}`);
}

// Seed 004's list for users: active providers, each with its active models' names.
export async function activeProviders(em: EntityManager): Promise<{ id: number; name: string; displayName: string; status: 'active'; models: string[] }[]> {
  const rows = await sqlOf(em)(
    `select p.id, p.name, p.display_name, coalesce(array_agg(m.name order by m.id) filter (where m.id is not null), '{}') as models
       from ai_providers p left join ai_models m on m.provider_id = p.id and m.status = 'active'
      where p.status = 'active' group by p.id order by p.id`,
  );
  return rows.map((row) => ({ id: Number(row.id), name: String(row.name), displayName: String(row.display_name), status: 'active', models: row.models as string[] }));
}

export interface ResolvedModel {
  providerId: number;
  provider: string;
  kind: ProviderKind;
  endpoint?: string;
  apiKey?: string;
  model: string;
  inputCost: number;
  outputCost: number;
  maxTokens?: number;
  contextWindow?: number;
}

// What a reply needs to call the model a device's settings name (by provider and model name, as seed 004 writes them).
export async function resolveModel(em: EntityManager, encryptionKey: Buffer, provider: string, model: string): Promise<ResolvedModel> {
  const [row] = await sqlOf(em)(
    `select p.id as provider_id, p.kind, p.endpoint, p.api_key, p.status as provider_status, m.id as model_id, m.input_cost, m.output_cost, m.max_tokens, m.context_window, m.status as model_status
       from ai_providers p left join ai_models m on m.provider_id = p.id and m.name = ? where p.name = ?`,
    [model, provider],
  );
  if (!row) throw new AppError('INVALID_AI_CONFIG', `No AI provider "${provider}" (GET /api/whatsapp/ai/providers lists them)`);
  if (row.provider_status !== 'active') throw new AppError('INVALID_AI_CONFIG', `The AI provider "${provider}" is inactive`);
  if (row.model_id === null) throw new AppError('INVALID_AI_CONFIG', `The AI provider "${provider}" has no model "${model}"`);
  if (row.model_status !== 'active') throw new AppError('INVALID_AI_CONFIG', `The model "${model}" of "${provider}" is inactive`);
  const providerId = Number(row.provider_id);
  return {
    providerId,
    provider,
    kind: row.kind as ProviderKind,
    ...(row.endpoint ? { endpoint: String(row.endpoint) } : {}),
    ...(row.api_key ? { apiKey: open(encryptionKey, String(row.api_key), boundTo(providerId)) } : {}),
    model,
    inputCost: Number(row.input_cost),
    outputCost: Number(row.output_cost),
    ...(row.max_tokens === null ? {} : { maxTokens: Number(row.max_tokens) }),
    ...(row.context_window === null ? {} : { contextWindow: Number(row.context_window) }),
  };
}

// List prices per 1K tokens when this was written; administrators edit them (PUT …/admin/ai/models/{id}).
const DEFAULT_MODELS: Record<'openai' | 'anthropic', { name: string; inputCost: number; outputCost: number; contextWindow: number }[]> = {
  openai: [
    { name: 'gpt-4o-mini', inputCost: 0.00015, outputCost: 0.0006, contextWindow: 128_000 },
    { name: 'gpt-4o', inputCost: 0.0025, outputCost: 0.01, contextWindow: 128_000 },
  ],
  anthropic: [
    { name: 'claude-3-5-haiku-latest', inputCost: 0.0008, outputCost: 0.004, contextWindow: 200_000 },
    { name: 'claude-sonnet-4-5', inputCost: 0.003, outputCost: 0.015, contextWindow: 200_000 },
  ],
};

// OPENAI_API_KEY / ANTHROPIC_API_KEY at start make their provider (and default models) if none of that name exists;
// an administrator's later edits are never overwritten. Returns the providers made.
export async function bootstrapAiProviders(em: EntityManager, config: Config): Promise<string[]> {
  const made: string[] = [];
  for (const name of ['openai', 'anthropic'] as const) {
    const settings = config.ai[name];
    if (!settings) continue;
    const sql = sqlOf(em);
    const [next] = await sql(`select nextval('ai_providers_id_seq')::int as id`);
    const id = Number(next!.id);
    const inserted = await sql(
      `insert into ai_providers (id, name, display_name, kind, endpoint, api_key) values (?, ?, ?, ?, ?, ?) on conflict (name) do nothing returning id`,
      [id, name, name === 'openai' ? 'OpenAI' : 'Anthropic Claude', name, settings.baseUrl ?? null, seal(config.encryptionKey, settings.apiKey, boundTo(id))],
    );
    if (!inserted.length) continue;
    for (const model of DEFAULT_MODELS[name]) {
      await sql(`insert into ai_models (provider_id, name, display_name, input_cost, output_cost, context_window) values (?, ?, ?, ?, ?, ?) on conflict do nothing`, [
        id,
        model.name,
        model.name,
        model.inputCost,
        model.outputCost,
        model.contextWindow,
      ]);
    }
    made.push(name);
  }
  return made;
}
