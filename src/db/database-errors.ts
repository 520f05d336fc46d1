import type { ErrorCode } from '../domain/errors.ts';

// PostgreSQL's refusals that a client caused or can retry, in the API's codes. Read off the SQLSTATE and
// constraint name that both pg's errors and MikroORM's wrappers of them carry; never the message, which quotes
// the statement and the values.

interface PgFailure {
  code?: unknown;
  constraint?: unknown;
}

const sqlState = (err: unknown) => {
  const code = (err as PgFailure | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
};

// Serialization failures and deadlocks: the transaction did nothing and may simply run again.
export const isRetryable = (err: unknown) => ['40001', '40P01'].includes(sqlState(err) ?? '');

// Each unique constraint a request can run into (migrations/ names them), and what the client is told.
export const UNIQUE_CONSTRAINTS: Record<string, [ErrorCode, string]> = {
  users_username_unique: ['USER_ALREADY_EXISTS', 'A user with this username already exists'],
  users_phone_number_unique: ['PHONE_NUMBER_TAKEN', 'Another user has this phone number'],
  devices_user_id_alias_unique: ['DEVICE_ALREADY_EXISTS', 'Another of your devices has this alias'],
  devices_session_id_unique: ['DEVICE_ALREADY_EXISTS', 'A device with this session id already exists'],
  webhook_endpoints_device_kind_unique: ['WEBHOOK_ALREADY_EXISTS', 'This device has a webhook of this kind already'],
  login_bot_device_id_unique: ['DEVICE_ALREADY_EXISTS', 'This device is the login bot already'],
  ai_providers_name_key: ['ALREADY_EXISTS', 'An AI provider of this name exists already'],
  ai_models_provider_id_name_key: ['ALREADY_EXISTS', 'This provider has a model of this name already'],
};

export interface DatabaseRefusal {
  code: ErrorCode;
  message: string;
  retryAfterSeconds?: number;
}

export function databaseRefusal(err: unknown): DatabaseRefusal | undefined {
  const state = sqlState(err);
  if (!state) return undefined;
  if (state === '23505') {
    const constraint = (err as PgFailure).constraint;
    const [code, message] = (typeof constraint === 'string' && UNIQUE_CONSTRAINTS[constraint]) || ['ALREADY_EXISTS', 'This conflicts with something that exists already'];
    return { code, message };
  }
  // A row it names went away meanwhile (a device deleted while a token bound to it is made, say).
  if (state === '23503') return { code: 'NOT_FOUND', message: 'Something this refers to does not exist (any more)' };
  if (state === '23514') return { code: 'VALIDATION_ERROR', message: 'A value is not one this field takes' };
  // Still failing after the transaction's own retries (src/db/transactions.ts): the client may try again.
  if (isRetryable(err)) return { code: 'SERVICE_UNAVAILABLE', message: 'The database was busy with a conflicting change: try again', retryAfterSeconds: 1 };
  // Data exceptions (a value out of its column's range, text that is not a number): input the edge let through.
  if (state.startsWith('22')) return { code: 'VALIDATION_ERROR', message: 'A value is out of range or malformed for what it is stored as' };
  return undefined;
}
