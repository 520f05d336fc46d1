import { randomInt } from 'node:crypto';
import { alternatives, typeOf, type Input, type JsonSchema, type Operation } from './openapi.ts';
import type { Tenant } from './tenants.ts';

// The fields of an operation that name a resource (its id-shaped fields), the values of a tenant's that fit them,
// and otherwise valid input around them, so a request reaches the lookup instead of stopping at validation.

export type Value = string | number;

export interface Slot {
  // `path.id`, `query.deviceId`, `body.sessionId`, `body.recipients.0.phoneNumber`: where the value goes.
  key: string;
  name: string;
  schema: JsonSchema;
  // The segment before a path parameter (`devices` for /devices/{id}): what a bare `id` names.
  segment?: string;
}

// Integers named id or *Id, session, message, campaign, webhook and delivery ids, JIDs, user identifiers, and a
// session's own number (`phone` of /api/send names one of your sessions).
// `clientMessageId` is not among them: an idempotency key the client makes up, kept per user, that names nothing.
export const isIdShaped = (name: string) => name !== 'clientMessageId' && (name === 'id' || /[a-z]Ids?$/.test(name) || name === 'jid' || /[a-z]Jid$/.test(name) || name === 'phone' || name === 'username');

const BY_SEGMENT: Record<string, (t: Tenant) => Value[]> = {
  devices: (t) => t.devices.map((d) => d.id),
  sessions: (t) => t.devices.map((d) => d.sessionId),
  webhooks: (t) => t.webhookIds,
  'api-tokens': (t) => t.apiTokenIds,
  users: (t) => [t.id],
};

const everything = (t: Tenant): Value[] => [
  ...t.devices.flatMap((d) => [d.id, d.sessionId]),
  t.id,
  t.username,
  ...t.apiTokenIds,
  ...t.messageIds,
  ...t.campaignIds,
  ...t.webhookIds,
  ...t.deliveryIds,
  ...t.jids,
  ...t.groupJids,
];

// The tenant's values a field could name, best match first, those its schema takes.
export function poolOf(tenant: Tenant, slot: Slot): Value[] {
  const { name } = slot;
  const named =
    name === 'id'
      ? (BY_SEGMENT[slot.segment ?? '']?.(tenant) ?? everything(tenant))
      : /messageId$/i.test(name)
        ? tenant.messageIds
        : name === 'campaignId'
          ? tenant.campaignIds
          : name === 'deliveryId'
            ? tenant.deliveryIds
            : name === 'webhookId'
              ? tenant.webhookIds
              : name === 'sessionId'
                ? tenant.devices.map((d) => d.sessionId)
                : /^deviceIds?$/.test(name)
                  ? tenant.devices.map((d) => d.id)
                  : name === 'userId'
                    ? [tenant.username, tenant.id]
                    : name === 'username'
                      ? [tenant.username]
                      : /^group/i.test(name)
                        ? tenant.groupJids
                      : /jid$/i.test(name)
                        ? tenant.jids
                        : name === 'phone'
                          ? tenant.devices.map((d) => d.phone)
                          : /tokenIds?$/i.test(name)
                            ? tenant.apiTokenIds
                            : everything(tenant);
  const schema = slot.schema.type === 'array' && slot.schema.items ? slot.schema.items : slot.schema;
  return named.filter((v) => fits(schema, v));
}

function fits(schema: JsonSchema, value: Value): boolean {
  return alternatives(schema).some((s) => {
    const type = typeOf(s);
    if (type === 'integer' || type === 'number') return typeof value === 'number' && (s.maximum === undefined || value <= s.maximum);
    if (type === 'string') return typeof value === 'string' && (s.maxLength === undefined || value.length <= s.maxLength) && (!s.pattern || new RegExp(s.pattern, 'u').test(value));
    return type === undefined;
  });
}

// A value of the same shape that names nothing: same prefix, same length, other characters of the same kind. The
// same one every time for a value, so per-name bookkeeping (failed logins for a username) treats both alike.
const missing = new Map<Value, Value>();
export function missingLike(value: Value): Value {
  if (!missing.has(value)) missing.set(value, missingOf(value));
  return missing.get(value)!;
}

function missingOf(value: Value): Value {
  if (typeof value === 'number') return 900_000 + randomInt(90_000);
  const at = value.indexOf('@');
  if (at > 0) return value.slice(0, 3) + scramble(value.slice(3, at), /[0-9]/) + value.slice(at);
  if (value.startsWith('+')) return value.slice(0, 4) + scramble(value.slice(4), /[0-9]/);
  const prefix = value.match(/^[a-z]{2,5}_/)?.[0] ?? '';
  return prefix + scramble(value.slice(prefix.length), /[A-Za-z0-9]/);
}

const scramble = (text: string, which: RegExp) =>
  [...text]
    .map((c) => {
      if (!which.test(c)) return c;
      const range = /[0-9]/.test(c) ? '0123456789' : /[a-f]/.test(c) ? 'abcdef' : /[a-z]/.test(c) ? 'abcdefghijklmnopqrstuvwxyz' : 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
      return range[randomInt(range.length)];
    })
    .join('');

// The id-shaped fields of an operation: path and query parameters, and body properties at any depth (optional
// ones too: `quotedMessageId` of a send names a message as surely as a path does).
export function slotsOf(operation: Operation): Slot[] {
  const slots: Slot[] = [];
  for (const p of operation.parameters) {
    if (!isIdShaped(p.name)) continue;
    const segment = p.in === 'path' ? operation.path.split('/').at(operation.path.split('/').indexOf(`{${p.name}}`) - 1) : undefined;
    slots.push({ key: `${p.in}.${p.name}`, name: p.name, schema: p.schema, ...(segment ? { segment } : {}) });
  }
  const visit = (schema: JsonSchema, key: string) => {
    const object = alternatives(schema).find((s) => s.properties);
    if (object) for (const [name, child] of Object.entries(object.properties!)) isIdShaped(name) ? slots.push({ key: `${key}.${name}`, name, schema: child }) : visit(child, `${key}.${name}`);
    const array = alternatives(schema).find((s) => s.type === 'array' && s.items && !isIdShaped(key.split('.').at(-1)!));
    if (array && (array.minItems ?? 0) > 0) visit(array.items!, `${key}.0`);
  };
  if (operation.body) visit(operation.body, 'body');
  return slots;
}

const PAST = '2026-01-01T00:00:00.000Z';
const BY_NAME: Record<string, unknown> = {
  phoneNumber: '6281299990001',
  recipient: '6281299990001',
  number: '6281299990001',
  phoneNumbers: ['6281299990001'],
  targetNumbers: ['6281299990001'],
  time: '09:00',
  password: 'probe-password-1',
  emoji: '👍',
  message: 'probe text',
  name: 'probe',
  alias: 'probe-alias',
  url: 'http://127.0.0.1:9/probe',
  webhookUrl: 'http://127.0.0.1:9/probe',
  webhook_url: 'http://127.0.0.1:9/probe',
  secret: 'probe-secret-0123456789',
  since: PAST,
  events: ['*'],
  disabled: false,
};

// A valid value for a schema (required properties only, and the id-shaped ones, which `assigned` fills).
export function exampleOf(schema: JsonSchema, name: string, key: string, assigned: Map<string, unknown>): unknown {
  if (assigned.has(key)) return assigned.get(key);
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  if (Object.hasOwn(BY_NAME, name)) return BY_NAME[name];
  const [first] = alternatives(schema).filter((s) => s.type !== 'null');
  if (first && first !== schema) return exampleOf(first, name, key, assigned);
  switch (typeOf(schema)) {
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 1, 1);
    case 'boolean':
      return false;
    case 'array':
      return Array.from({ length: Math.max(schema.minItems ?? 1, 1) }, (_, i) => exampleOf(schema.items ?? {}, name, `${key}.${i}`, assigned));
    case 'object': {
      const out: Record<string, unknown> = {};
      const wanted = (prop: string, childKey: string) =>
        schema.required?.includes(prop) || [...assigned.keys()].some((k) => k === childKey || k.startsWith(`${childKey}.`));
      for (const [prop, child] of Object.entries(schema.properties ?? {})) {
        const childKey = `${key}.${prop}`;
        if (wanted(prop, childKey)) out[prop] = exampleOf(child, prop, childKey, assigned);
      }
      // `minProperties` (a change naming at least one field): the first optional ones that are not ids.
      for (const [prop, child] of Object.entries(schema.properties ?? {})) {
        if (Object.keys(out).length >= (schema.minProperties ?? 0)) break;
        if (!(prop in out) && !isIdShaped(prop)) out[prop] = exampleOf(child, prop, `${key}.${prop}`, assigned);
      }
      return out;
    }
    case 'string': {
      if (schema.format === 'date-time') return PAST;
      if (schema.format === 'date') return PAST.slice(0, 10);
      const candidates = ['probe', 'probe-1', 'Probe one', 'x'.repeat(Math.max(schema.minLength ?? 1, 1))];
      return candidates.find((c) => c.length >= (schema.minLength ?? 0) && (!schema.pattern || new RegExp(schema.pattern, 'u').test(c))) ?? 'probe';
    }
    default:
      return {};
  }
}

// The request for an operation with these slot values (anything else valid).
export function inputOf(operation: Operation, assigned: Map<string, unknown>): Input {
  const input: Input = { path: {}, query: {} };
  for (const p of operation.parameters) {
    const key = `${p.in}.${p.name}`;
    if (!assigned.has(key) && !p.required) continue;
    const value = exampleOf(p.schema, p.name, key, assigned);
    input[p.in][p.name] = encodeURIComponent(String(value));
  }
  if (operation.body) input.body = exampleOf(operation.body, 'body', 'body', assigned);
  return input;
}
