import { pino } from 'pino';

// What a log line may carry. Every object logged (and every child logger's bindings) is copied through `scrub`
// before pino serializes it: a value under a secret-sounding name, at any depth, becomes `[redacted]` (credentials,
// passwords, webhook and provider keys, Signal and Noise key material, the QR, which holds the adv secret), and
// binary values become their length whatever they are called, so key material under a name no list foresaw is not
// printed either. Numbers and booleans stay (a `tokenCount` is not a secret).

export const REDACTED = '[redacted]';

// Compared with letters and digits only, lower case: `api_key`, `apiKey` and `x-api-key` are one name.
const SECRET_PARTS = [
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'authorization',
  'cookie',
  'credential',
  'creds',
  'privkey',
  'private',
  'rootkey',
  'chainkey',
  'messagekeys',
  'noisekey',
  'identitykey',
  'prekey',
  'senderkey',
  'keypair',
  'mackey',
  'enckey',
  'encryptionkey',
  'signingkey',
  'advsecret',
];
const SECRET_NAMES = new Set(['qr', 'qrcode', 'jwt']);
const MAX_DEPTH = 8;

export function isSecretName(name: string): boolean {
  const plain = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_NAMES.has(plain) || SECRET_PARTS.some((part) => plain.includes(part));
}

function binaryLength(value: unknown): number | undefined {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value.byteLength;
  // A Buffer already turned into JSON (`{type: 'Buffer', data: […]}`).
  const json = value as { type?: unknown; data?: unknown };
  if (json && json.type === 'Buffer' && Array.isArray(json.data) && Object.keys(json).length === 2) return json.data.length;
  return undefined;
}

// What a value is, never what it holds: `[Uint8Array 32 bytes]`, `[SessionEntry]`, `[Array 3]`.
export function kindOf(value: unknown): string {
  const length = binaryLength(value);
  if (length !== undefined) {
    const binary = ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer;
    return `[${binary && !Buffer.isBuffer(value) ? (value as object).constructor.name : 'Buffer'} ${length} bytes]`;
  }
  if (Array.isArray(value)) return `[Array ${value.length}]`;
  if (typeof value === 'function') return '[Function]';
  if (typeof value === 'object' && value) return `[${value.constructor?.name ?? 'Object'}]`;
  return `[${typeof value}]`;
}

const keeps = (value: unknown) => typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined;

function scrubValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value !== 'object' || value === null) return typeof value === 'bigint' ? String(value) : value;
  if (binaryLength(value) !== undefined) return kindOf(value);
  if (value instanceof Date) return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return kindOf(value);
  seen.add(value);
  try {
    // pino's error serializer first (type, message, stack, cause, own fields), so an error's fields are scrubbed too.
    if (value instanceof Error) return scrubValue({ ...pino.stdSerializers.err(value) }, depth, seen);
    if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1, seen));
    if (value instanceof Map) return scrubValue(Object.fromEntries(value), depth, seen);
    if (value instanceof Set) return scrubValue([...value], depth, seen);
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = isSecretName(key) && !keeps(item) ? REDACTED : scrubValue(item, depth + 1, seen);
    return copy;
  } finally {
    seen.delete(value);
  }
}

// `skip`: top-level fields a pino serializer renders itself (fastify's `req` and `res`: the raw objects are large
// and cyclic, and their serializers keep only harmless fields).
export function scrub(object: Record<string, unknown>, skip: ReadonlySet<string> = new Set()): Record<string, unknown> {
  const seen = new WeakSet<object>();
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    if (skip.has(key)) copy[key] = value;
    else copy[key] = isSecretName(key) && !keeps(value) ? REDACTED : scrubValue(value, 1, seen);
  }
  return copy;
}
