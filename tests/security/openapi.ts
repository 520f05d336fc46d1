import type { LightMyRequestResponse } from 'fastify';
import type { TestPlatform } from '../helpers/platform.ts';

// The operations of the platform's own OpenAPI document, as the security suites walk them: a route added to the
// API is in the document (every route declares its schema), so it is probed and fuzzed without a test naming it.

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  pattern?: string;
  format?: string;
};

export interface Parameter {
  in: 'path' | 'query';
  name: string;
  required: boolean;
  schema: JsonSchema;
}

export interface Operation {
  // `GET /api/whatsapp/devices/{id}`: how failures and the skip lists name it.
  name: string;
  method: string;
  path: string;
  security: string[];
  parameters: Parameter[];
  body?: JsonSchema;
}

// Streaming routes answer with a stream that does not end: the generic loops cannot `inject` them. Each suite
// tests them apart with a short read.
export const STREAMING = new Set(['GET /api/whatsapp/events/stream', 'GET /ws', 'GET /api/ws/{sessionId}']);

export async function operationsOf(platform: TestPlatform): Promise<Operation[]> {
  const res = await platform.request({ method: 'GET', url: '/docs/json' });
  if (res.statusCode !== 200) throw new Error(`GET /docs/json answered ${res.statusCode}`);
  const document = res.json() as { paths: Record<string, Record<string, Record<string, any>>> };
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const parameters = ((operation.parameters ?? []) as (Parameter & { in: string })[]).filter((p): p is Parameter => p.in === 'path' || p.in === 'query');
      operations.push({
        name: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        security: ((operation.security ?? []) as Record<string, unknown>[]).flatMap((s) => Object.keys(s)),
        parameters: parameters.map((p) => ({ in: p.in, name: p.name, required: Boolean(p.required), schema: p.schema ?? {} })),
        ...(operation.requestBody ? { body: operation.requestBody.content['application/json'].schema as JsonSchema } : {}),
      });
    }
  }
  return operations;
}

export interface Input {
  path: Record<string, string>;
  query: Record<string, string>;
  body?: unknown;
}

// The request line of an operation: path parameters are sent as given (a suite that wants them encoded encodes them).
export function urlOf(operation: Operation, input: Input): string {
  const path = operation.path.replace(/\{(\w+)\}/g, (_, name: string) => input.path[name] ?? '');
  const query = Object.entries(input.query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${v}`)
    .join('&');
  return query ? `${path}?${query}` : path;
}

export function send(platform: TestPlatform, operation: Operation, input: Input, headers: Record<string, string>): Promise<LightMyRequestResponse> {
  return platform.request({
    method: operation.method as 'GET',
    url: urlOf(operation, input),
    headers: { ...headers, ...(input.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(input.body !== undefined ? { payload: JSON.stringify(input.body) } : {}),
  });
}

// What is wrong with a refusal's body, if anything: every 4xx and 5xx is `{success:false, error, message, code}` (JSON).
export function errorShapeFault(res: LightMyRequestResponse): string | undefined {
  if (!String(res.headers['content-type'] ?? '').startsWith('application/json')) return `content-type ${res.headers['content-type']}`;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(res.body);
  } catch {
    return 'not JSON';
  }
  if (body === null || typeof body !== 'object') return 'not an object';
  if (body.success !== false) return 'success is not false';
  for (const field of ['error', 'message', 'code']) {
    if (typeof body[field] !== 'string' || !(body[field] as string).length) return `no ${field}`;
  }
  if (!/^[A-Z][A-Z0-9_]*$/.test(body.code as string)) return `code ${JSON.stringify(body.code)} is not a stable code`;
  return undefined;
}

// A failure, readable in the test output: the route, what was sent, what came back.
export function describe(operation: Operation, input: Input, credential: string, res: LightMyRequestResponse, why: string): string {
  const sent = JSON.stringify({ url: urlOf(operation, input), body: input.body });
  return `${operation.name} as ${credential}: ${why}\n    sent ${clip(sent)}\n    got ${res.statusCode} ${clip(res.body)}`;
}

const clip = (text: string) => (text.length > 600 ? `${text.slice(0, 600)}… (${text.length} characters)` : text);

// The schema's alternatives, flattened (TypeBox writes unions and nullables as anyOf).
export const alternatives = (schema: JsonSchema): JsonSchema[] => schema.anyOf ?? schema.oneOf ?? [schema];

export const typeOf = (schema: JsonSchema): string | undefined =>
  schema.type !== undefined ? (Array.isArray(schema.type) ? schema.type[0] : schema.type) : schema.enum ? typeof schema.enum[0] : schema.properties ? 'object' : undefined;
