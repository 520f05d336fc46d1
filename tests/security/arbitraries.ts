import fc from 'fast-check';
import { alternatives, typeOf, type JsonSchema, type Operation } from './openapi.ts';

// fast-check arbitraries for a route's path, query and body, derived from the JSON schemas of the OpenAPI document:
// mostly valid-ish values (so requests reach the handlers), each field now and then hostile: NUL, lone surrogates,
// numbers JSON cannot hold (1e400), negative and zero, deep nesting, long strings, wrong types, extra fields,
// malformed percent-encodings and 4 KB path segments.

// JSON text written as is: numbers no JavaScript number spells (1e400), nesting too deep to build as objects.
export class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
  [fc.toStringMethod]() {
    return `raw(${this.text.length > 80 ? `${this.text.slice(0, 80)}… ${this.text.length} characters` : this.text})`;
  }
}

export function toJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const nested = (depth: number, open: string, close: string, inner = '1') => new RawJson(open.repeat(depth) + inner + close.repeat(depth));

const HOSTILE_STRINGS = fc.oneof(
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '\udc00\ud800', '1e400', '-1', '0', '', ' ', "' or 1=1 --", '"; drop table users; --', '$1', '?', '\\', '%00', '../../etc/passwd', '\u202e\u2028\u0085', '🙂'.repeat(300)),
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 4 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer({ min: 257, max: 70_000 }).map((n) => 'x'.repeat(n)),
);

const HOSTILE_NUMBERS = fc.constantFrom<unknown>(
  new RawJson('1e400'),
  new RawJson('-1e400'),
  new RawJson('1e-400'),
  new RawJson('123456789012345678901234567890'),
  new RawJson('-0'),
  0,
  -1,
  1.5,
  2 ** 31,
  2 ** 53 + 2,
  -(2 ** 63),
  Number.MAX_VALUE,
  '1',
);

const WRONG_TYPES = fc.constantFrom<unknown>(null, true, false, 0, -1, 'x', '', [], {}, [null], { '': null }, nested(3000, '[', ']'), nested(3000, '{"a":', '}'));

const EXTRA_KEYS = fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', '', 'a\u0000b', '\ud800', '$where', 'x'.repeat(300));

// `arbitrary` one time in `oneIn`, else nothing.
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, oneIn: number) => fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

// Any value at all, nested a little or (now and then) thousands of levels deep.
const ANY = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 40, max: 20_000 }).map((d) => nested(d, '{"a":', '}')) },
  { weight: 1, arbitrary: fc.integer({ min: 40, max: 20_000 }).map((d) => nested(d, '[', ']')) },
  { weight: 1, arbitrary: HOSTILE_STRINGS },
);

const stringArbitrary = (schema: JsonSchema, name: string): fc.Arbitrary<string> => {
  if (schema.format === 'date-time') {
    return fc.oneof(
      fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom('2026-13-45T99:99:99Z', '+275760-09-13T00:00:00.001Z', '0000-00-00T00:00:00Z', 'yesterday'),
    );
  }
  if (schema.pattern) {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? Infinity) && s.length >= (schema.minLength ?? 0));
    } catch {
      // A pattern fast-check cannot generate from (lookaheads): plain strings, which the route must refuse well.
    }
  }
  if (/phone|number|recipient|jid/i.test(name)) return fc.oneof(fc.stringMatching(/^\+?[0-9]{6,15}$/), fc.stringMatching(/^[0-9]{6,15}@(s\.whatsapp\.net|g\.us|lid)$/));
  if (/url/i.test(name)) return fc.oneof(fc.webUrl(), fc.constantFrom('http://127.0.0.1:9/x', 'file:///etc/passwd', 'http://[::1]/', 'javascript:alert(1)'));
  return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) });
};

const numberArbitrary = (schema: JsonSchema, integer: boolean) => {
  const min = schema.minimum ?? -(2 ** 31);
  const max = schema.maximum ?? 2 ** 31;
  return integer ? fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) }) : fc.double({ min, max, noNaN: true });
};

// A value for a schema: valid-ish most of the time, hostile (wrong type, hostile text or number) now and then.
export function valueOf(schema: JsonSchema, name: string, depth = 0): fc.Arbitrary<unknown> {
  const options = alternatives(schema);
  const valid = options.length > 1 ? fc.oneof(...options.map((s) => validOf(s, name, depth))) : validOf(schema, name, depth);
  const hostile = typeOf(schema) === 'integer' || typeOf(schema) === 'number' ? fc.oneof(HOSTILE_NUMBERS, WRONG_TYPES) : fc.oneof(HOSTILE_STRINGS, WRONG_TYPES);
  return fc.oneof({ weight: 7, arbitrary: valid }, { weight: 1, arbitrary: hostile });
}

function validOf(schema: JsonSchema, name: string, depth: number): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (typeOf(schema)) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return numberArbitrary(schema, true);
    case 'number':
      return numberArbitrary(schema, false);
    case 'string':
      return stringArbitrary(schema, name);
    case 'array': {
      const items = schema.items ? valueOf(schema.items, name, depth + 1) : ANY;
      return fc.array(items, { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 4, 4) });
    }
    case 'object': {
      const properties = Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, valueOf(s, k, depth + 1)]));
      const known = fc.record(properties, { requiredKeys: (schema.required ?? []).filter((k) => k in properties) });
      const extra = schema.properties && schema.additionalProperties !== true && typeof schema.additionalProperties !== 'object' ? fc.dictionary(EXTRA_KEYS, ANY, { maxKeys: 2 }) : fc.dictionary(fc.string({ maxLength: 10 }), ANY, { maxKeys: 3 });
      return fc.tuple(known, sometimes(extra, 5)).map(([k, e]) => ({ ...e, ...k }));
    }
    default:
      return ANY;
  }
}

// A path or query value as it goes on the request line: valid values percent-encoded, hostile spellings as they are.
const RAW_SEGMENTS = fc.constantFrom('%', '%zz', '%E0%A4%A', '%ED%A0%80', '%C0%AF', '%00', 'a%00b', '%F0%9F', '%2F..%2F', '..', '%25', '1e400', '-1', '0', '%20', 'a'.repeat(4096), '9'.repeat(4096), '%ud800');

const encoded = (value: unknown): string => {
  const text = typeof value === 'string' ? value : value instanceof RawJson ? value.text : JSON.stringify(value) ?? '';
  try {
    return encodeURIComponent(text);
  } catch {
    // A lone surrogate has no UTF-8 spelling: send its bytes as WTF-8 would.
    return text.replace(/[\ud800-\udfff]/g, (c) => `%ED%${(0xa0 + ((c.charCodeAt(0) >> 6) & 0x1f)).toString(16).toUpperCase()}%${(0x80 + (c.charCodeAt(0) & 0x3f)).toString(16).toUpperCase()}`).replace(/[^%\w.~-]/g, (c) => encodeURIComponent(c));
  }
};

const onTheLine = (schema: JsonSchema, name: string) => fc.oneof({ weight: 6, arbitrary: valueOf(schema, name).map(encoded) }, { weight: 1, arbitrary: RAW_SEGMENTS });

export interface FuzzInput {
  path: Record<string, string>;
  query: [string, string][];
  // The body's text and content type, or none.
  body?: { text: string; type?: string };
}

const WHOLE_BODIES = fc.constantFrom(
  { text: '', type: 'application/json' },
  { text: 'null', type: 'application/json' },
  { text: '[]', type: 'application/json' },
  { text: '"x"', type: 'application/json' },
  { text: '1e400', type: 'application/json' },
  { text: '{', type: 'application/json' },
  { text: '{"a":1}', type: 'text/plain' },
  { text: 'a=1&b=%zz', type: 'application/x-www-form-urlencoded' },
  { text: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}', type: 'application/json' },
  { text: nested(20_000, '[', ']').text, type: 'application/json' },
  { text: nested(10_000, '{"a":', '}').text, type: 'application/json' },
  { text: `{"a":"${'x'.repeat(1_100_000)}"}`, type: 'application/json' },
  { text: '{"a":1}', type: 'application/json; charset=utf-16' },
);

export function inputArbitrary(operation: Operation): fc.Arbitrary<FuzzInput> {
  const path = fc.record(Object.fromEntries(operation.parameters.filter((p) => p.in === 'path').map((p) => [p.name, onTheLine(p.schema, p.name)])));
  const named = operation.parameters
    .filter((p) => p.in === 'query')
    .map((p) => fc.option(onTheLine(p.schema, p.name).map((v): [string, string] => [p.name, v]), { freq: p.required ? 8 : 2, nil: undefined }));
  const extra = fc.array(fc.tuple(fc.oneof(fc.constantFrom('limit', 'extra', '__proto__', '%zz', ''), fc.string({ maxLength: 8 }).map(encoded)), RAW_SEGMENTS), { maxLength: 2 });
  const query = fc.tuple(fc.tuple(...named), sometimes(extra, 5)).map(([n, e]) => [...n.filter((q) => q !== undefined), ...(e ?? [])]);
  const body = operation.body
    ? fc.oneof({ weight: 8, arbitrary: valueOf(operation.body, 'body').map((v) => ({ text: toJson(v), type: 'application/json' })) }, { weight: 1, arbitrary: WHOLE_BODIES })
    : sometimes(WHOLE_BODIES, 8);
  return fc.record({ path, query, body }) as fc.Arbitrary<FuzzInput>;
}

export function fuzzUrl(operation: Operation, input: FuzzInput): string {
  const path = operation.path.replace(/\{(\w+)\}/g, (_, name: string) => input.path[name] ?? '');
  const query = input.query.map(([k, v]) => `${k}=${v}`).join('&');
  return query ? `${path}?${query}` : path;
}
