import type { EntityManager } from '@mikro-orm/postgresql';
import { decodeCursor, encodeCursor } from '../db/keyset-cursor.ts';
import { sqlOf } from '../events/event-store.ts';

// Every call to a model, with the tokens the provider reported and their cost; and the cost limits that stop
// replies. Periods are UTC days and UTC months.

export interface UsageRecord {
  attemptId: string;
  userId?: number;
  deviceId?: number;
  chatJid?: string;
  purpose: 'reply' | 'test';
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  durationMs: number;
  outcome: 'ok' | 'error';
  error?: string;
  at: Date;
}

export async function recordUsage(em: EntityManager, record: UsageRecord): Promise<void> {
  await sqlOf(em)(
    `insert into ai_usage_logs (attempt_id, user_id, device_id, chat_jid, purpose, provider, model, input_tokens, output_tokens, cost, duration_ms, outcome, error, created_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (attempt_id) do nothing`,
    [
      record.attemptId,
      record.userId ?? null,
      record.deviceId ?? null,
      record.chatJid ?? null,
      record.purpose,
      record.provider,
      record.model,
      record.inputTokens,
      record.outputTokens,
      record.cost,
      Math.round(record.durationMs),
      record.outcome,
      record.error?.slice(0, 2000) ?? null,
      record.at.toISOString(),
    ],
  );
}

// Prices are per 1,000 tokens, as providers publish them.
export function costOf(prices: { inputCost: number; outputCost: number }, inputTokens: number, outputTokens: number): number {
  return Math.round(((inputTokens * prices.inputCost + outputTokens * prices.outputCost) / 1000) * 1e6) / 1e6;
}

export type CostPeriod = 'daily' | 'monthly';

export interface LimitReached {
  scope: 'user' | 'platform';
  userId?: number;
  period: CostPeriod;
  // 2026-12-03 or 2026-12.
  periodKey: string;
  threshold: number;
  current: number;
}

export function periodOf(period: CostPeriod, now: Date): { key: string; start: Date } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  if (period === 'monthly') return { key: now.toISOString().slice(0, 7), start: new Date(Date.UTC(y, m, 1)) };
  return { key: now.toISOString().slice(0, 10), start: new Date(Date.UTC(y, m, now.getUTCDate())) };
}

export interface CostLimitRow {
  id: number;
  userId: number | null;
  dailyLimit: number | null;
  monthlyLimit: number | null;
}

export async function costLimits(em: EntityManager, userId?: number): Promise<CostLimitRow[]> {
  const rows = await sqlOf(em)(
    `select id, user_id, daily_limit::float8 as daily, monthly_limit::float8 as monthly from ai_cost_limits
      where ?::int is null or user_id is null or user_id = ? order by user_id nulls first, id`,
    [userId ?? null, userId ?? null],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    userId: row.user_id === null ? null : Number(row.user_id),
    dailyLimit: row.daily === null ? null : Number(row.daily),
    monthlyLimit: row.monthly === null ? null : Number(row.monthly),
  }));
}

// What a user's (or everyone's, `userId` null) calls cost since the period began.
export async function spendSince(em: EntityManager, userId: number | null, since: Date): Promise<number> {
  const [row] = await sqlOf(em)(
    'select coalesce(sum(cost), 0)::float8 as spent from ai_usage_logs where created_at >= ? and (?::int is null or user_id = ?)',
    [since.toISOString(), userId, userId],
  );
  return Number(row?.spent ?? 0);
}

// The first limit a user's next call would cross: their own daily and monthly, then the platform's.
export async function reachedCostLimit(em: EntityManager, userId: number, now: Date): Promise<LimitReached | undefined> {
  const limits = await costLimits(em, userId);
  const ordered = [...limits.filter((l) => l.userId !== null), ...limits.filter((l) => l.userId === null)];
  for (const limit of ordered) {
    for (const period of ['daily', 'monthly'] as const) {
      const threshold = period === 'daily' ? limit.dailyLimit : limit.monthlyLimit;
      if (threshold === null) continue;
      const { key, start } = periodOf(period, now);
      const current = await spendSince(em, limit.userId, start);
      if (current >= threshold) {
        return { scope: limit.userId === null ? 'platform' : 'user', ...(limit.userId === null ? {} : { userId: limit.userId }), period, periodKey: key, threshold, current };
      }
    }
  }
  return undefined;
}

export async function setCostLimits(em: EntityManager, userId: number | null, limits: { dailyLimit?: number | null; monthlyLimit?: number | null }): Promise<void> {
  const sql = sqlOf(em);
  await sql(`insert into ai_cost_limits (user_id) values (?) on conflict (coalesce(user_id, 0)) do nothing`, [userId]);
  // A limit left out stays; null removes it.
  const { dailyLimit, monthlyLimit } = limits;
  await sql(
    `update ai_cost_limits set daily_limit = case when ?::boolean then ?::numeric else daily_limit end,
       monthly_limit = case when ?::boolean then ?::numeric else monthly_limit end, updated_at = now() where coalesce(user_id, 0) = ?`,
    [dailyLimit !== undefined, dailyLimit ?? null, monthlyLimit !== undefined, monthlyLimit ?? null, userId ?? 0],
  );
}

export interface UsageFilter {
  limit: number;
  cursor?: string;
  provider?: string;
  model?: string;
  userId?: number;
  deviceId?: number;
  purpose?: 'reply' | 'test';
  from?: string;
  to?: string;
}

// Seed 004's usage log: a page of calls, newest first, with the count and cost of every call the filter matches.
export async function usageLogs(em: EntityManager, filter: UsageFilter) {
  const where = ['true'];
  const params: unknown[] = [];
  const add = (clause: string, ...values: unknown[]) => {
    where.push(clause);
    params.push(...values);
  };
  if (filter.provider) add('l.provider = ?', filter.provider);
  if (filter.model) add('l.model = ?', filter.model);
  if (filter.userId !== undefined) add('l.user_id = ?', filter.userId);
  if (filter.deviceId !== undefined) add('l.device_id = ?', filter.deviceId);
  if (filter.purpose) add('l.purpose = ?', filter.purpose);
  if (filter.from) add('l.created_at >= ?', filter.from);
  if (filter.to) add('l.created_at < ?', filter.to);
  const sql = sqlOf(em);
  const [totals] = await sql(`select count(*)::int as total, coalesce(sum(cost), 0)::float8 as cost from ai_usage_logs l where ${where.join(' and ')}`, params);
  const after = decodeCursor(filter.cursor);
  if (after) add('(l.created_at, l.id) < (?, ?)', after[0], Number(after[1]));
  const rows = await sql(
    `select l.*, l.cost::float8 as cost_value, u.username from ai_usage_logs l left join users u on u.id = l.user_id
      where ${where.join(' and ')} order by l.created_at desc, l.id desc limit ?`,
    [...params, filter.limit + 1],
  );
  const logs = rows.slice(0, filter.limit).map((row) => ({
    id: Number(row.id),
    provider: String(row.provider),
    model: String(row.model),
    userId: (row.username as string | null) ?? null,
    deviceId: row.device_id === null ? null : Number(row.device_id),
    chatJid: (row.chat_jid as string | null) ?? null,
    purpose: String(row.purpose),
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    cost: Number(row.cost_value),
    duration: Number(row.duration_ms),
    outcome: String(row.outcome),
    error: (row.error as string | null) ?? null,
    timestamp: new Date(row.created_at as string).toISOString(),
  }));
  const last = rows.length > filter.limit ? logs.at(-1) : undefined;
  return { logs, total: Number(totals?.total ?? 0), totalCost: Number(totals?.cost ?? 0), nextCursor: last ? encodeCursor(last.timestamp, String(last.id)) : null };
}
