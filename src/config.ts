// Reads and validates the environment once, at start. Every problem is reported in one sentence a person
// can act on; production refuses to run on a missing or development-default secret.

import { resolve } from 'node:path';
import { isTimeZone } from './domain/send-policy.ts';
import { fileURLToPath } from 'node:url';
import type { SendPacing } from './workers/sending/sender.ts';

// Beside the sources: `npm start` in a fresh clone keeps its data in the clone (git-ignored).
const DEFAULT_DATA_DIR = fileURLToPath(new URL('../data', import.meta.url));

export type Role = 'all' | 'api' | 'worker';

export interface RateLimitRule {
  max: number;
  windowMs: number;
}

export interface Config {
  nodeEnv: string;
  role: Role;
  host: string;
  port: number;
  // Seed 004's WebSocket port (`ws://host:3001?token=…`); undefined when WS_PORT=off.
  wsPort: number | undefined;
  // Origins browsers may call the API from: `*` for any, else exact origins (`null` for file:// pages).
  corsOrigins: '*' | string[];
  // Unset: an embedded PostgreSQL in `dataDir` (src/db/embedded-postgres.ts).
  databaseUrl: string | undefined;
  // Unset: queues and coordination on PostgreSQL (src/backends.ts).
  redisUrl: string | undefined;
  redisPrefix: string;
  // Where the embedded PostgreSQL keeps its cluster (`<dataDir>/postgres`).
  dataDir: string;
  jwtSecret: string;
  jwtTtlMs: number;
  loginTokenTtlMs: number;
  // How many `/login` requests one sender may make to the login bot per window.
  loginBotRate: RateLimitRule;
  // Failed password logins one account may have within the window before each further try must wait.
  loginFailureLimit: RateLimitRule;
  // Strict-Transport-Security max-age; undefined (HSTS_MAX_AGE unset) sends no HSTS, for deployments without TLS.
  hstsMaxAgeMs: number | undefined;
  encryptionKey: Buffer;
  adminUsername: string;
  adminPassword: string;
  adminToken: string | undefined;
  apiToken: string | undefined;
  waWebSocketUrl: string;
  logLevel: string;
  bodyLimit: number;
  shutdownTimeoutMs: number;
  sseMaxBufferBytes: number;
  sessionLeaseTtlMs: number;
  sessionScanMs: number;
  // How long each QR lives before Baileys shows the next; undefined keeps Baileys' own (60 s, then 20 s).
  qrTimeoutMs: number | undefined;
  sending: SendPacing;
  // How long the API waits for a worker to produce a pairing code.
  pairingCodeTimeoutMs: number;
  // How long creating a device and POST …/login wait for its session's first QR (or connection) to answer with.
  loginQrWaitMs: number;
  webhooks: WebhookSettings;
  files: FileSettings;
  // The address clients reach this API at (PUBLIC_URL), for the signed links webhooks carry; unset: links are
  // relative paths (`/api/whatsapp/files/…`), which the seed's own URLs are too.
  publicUrl: string | undefined;
  ai: AiSettings;
  // The time zone a warmer campaign's dates and times of day are read in (WARMER_TIME_ZONE, an IANA name).
  warmerTimeZone: string;
  rateLimit: {
    enabled: boolean;
    standard: RateLimitRule;
    sending: RateLimitRule;
    uploads: RateLimitRule;
    admin: RateLimitRule;
    auth: RateLimitRule;
  };
}

export interface WebhookSettings {
  // Delays before each retry (Svix's schedule by default); an endpoint's maxRetries may use fewer.
  retrySchedule: number[];
  // Each delay is spread by up to this fraction either way, so a receiver's outage doesn't end in a stampede.
  retryJitter: number;
  timeoutMs: number;
  // Deliveries in flight at once per worker process, and per endpoint across all processes.
  concurrency: number;
  endpointConcurrency: number;
  // An endpoint failing without a success for this long is disabled.
  disableAfterMs: number;
  // How long a rotated-out secret still signs beside the new one.
  secretGraceMs: number;
  allowPrivate: boolean;
}

export type StorageSettings =
  | { driver: 'local'; dir: string }
  | {
      driver: 's3';
      bucket: string;
      // Unset: AWS itself; set for MinIO, R2, Wasabi, a local S3 server…
      endpoint: string | undefined;
      region: string;
      // Unset: the SDK's default chain (environment, instance role…).
      credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
      forcePathStyle: boolean;
      // Keys are written under this prefix, so one bucket can serve several deployments.
      prefix: string;
    };

export interface FileSettings {
  storage: StorageSettings;
  // Bytes a user's files may take in all (0: no quota).
  quotaBytes: number;
  // How long a signed preview or download link stays valid.
  signedUrlTtlMs: number;
  // Media to send may be fetched from private addresses (development and tests), as ALLOW_PRIVATE_WEBHOOKS does for webhooks.
  allowPrivateUrls: boolean;
  // The longest a media URL may take to fetch.
  urlFetchTimeoutMs: number;
}

export interface AiSettings {
  // Providers made at start when these keys are set and no provider of that name exists (src/ai/catalog.ts), so
  // OPENAI_API_KEY alone is enough to answer chats; administrators manage them afterwards.
  openai: { apiKey: string; baseUrl: string | undefined } | undefined;
  anthropic: { apiKey: string; baseUrl: string | undefined } | undefined;
  // The longest one call to a provider may take, streaming included.
  timeoutMs: number;
  // Calls per burst before the reply is given up (429 and 5xx are retried, honouring Retry-After).
  attempts: number;
  // Replies being worked on at once per worker process, per device, and per provider across all processes.
  concurrency: number;
  deviceConcurrency: number;
  providerConcurrency: number;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

// Development defaults: good enough to try the platform on a laptop, refused in production.
export const DEV_SECRETS = {
  JWT_SECRET: 'dev-jwt-secret-change-me',
  ENCRYPTION_KEY: '0000000000000000000000000000000000000000000000000000000000000000',
  ADMIN_PASSWORD: 'admin',
  ADMIN_TOKEN: 'dev-admin-token',
  API_TOKEN: 'dev-api-token',
} as const;

const DURATION = /^(\d+)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string, defaultUnit: 'ms' | 's' = 's'): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] ?? defaultUnit]!;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const nodeEnv = env.NODE_ENV ?? 'development';
  const production = nodeEnv === 'production';
  const str = (name: string, fallback: string) => env[name]?.trim() || fallback;

  const int = (name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}="${raw}" must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };

  const duration = (name: string, fallback: string, { allowZero = false } = {}) => {
    const raw = str(name, fallback);
    const ms = parseDuration(raw);
    if (ms === undefined || (allowZero ? ms < 0 : ms <= 0)) {
      problems.push(`${name}="${raw}" must be a duration such as 900 (seconds), 15m, 24h or 7d`);
      return parseDuration(fallback)!;
    }
    return ms;
  };

  const timeZone = (name: string, fallback: string) => {
    const raw = str(name, fallback);
    if (isTimeZone(raw)) return raw;
    problems.push(`${name}="${raw}" must be an IANA time zone such as UTC or Asia/Jakarta`);
    return fallback;
  };

  const onOff = (name: string, fallback: 'on' | 'off') => {
    const raw = str(name, fallback);
    if (raw !== 'on' && raw !== 'off') problems.push(`${name}="${raw}" must be on or off`);
    return raw !== 'off';
  };

  const durations = (name: string, fallback: string) => {
    const raw = str(name, fallback);
    const list = raw.split(',').map((part) => parseDuration(part));
    if (list.some((ms) => ms === undefined || ms < 0)) {
      problems.push(`${name}="${raw}" must be durations separated by commas, such as 5s,5m,30m`);
      return fallback.split(',').map((part) => parseDuration(part)!);
    }
    return list as number[];
  };

  const fraction = (name: string, fallback: number) => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!(value >= 0 && value <= 1)) {
      problems.push(`${name}="${raw}" must be a number from 0 to 1`);
      return fallback;
    }
    return value;
  };

  const secret = (name: keyof typeof DEV_SECRETS, required: boolean) => {
    const raw = env[name]?.trim();
    if (production && raw === DEV_SECRETS[name]) {
      problems.push(`${name} is set to the development default; set a secret of your own for production`);
    }
    if (raw) return raw;
    if (!production) return DEV_SECRETS[name];
    if (required) problems.push(`${name} is required in production (NODE_ENV=production)`);
    return undefined;
  };

  const rule = (name: string, fallback: string): RateLimitRule => {
    const raw = str(name, fallback);
    const parsed = parseRule(raw);
    if (parsed) return parsed;
    problems.push(`${name}="${raw}" must look like 100/15m (requests per window)`);
    return parseRule(fallback)!;
  };

  const role = str('ROLE', 'all');
  if (role !== 'all' && role !== 'api' && role !== 'worker') {
    problems.push(`ROLE="${role}" must be all, api or worker`);
  }

  const jwtSecret = secret('JWT_SECRET', true) ?? '';
  if (production && jwtSecret.length < 32) problems.push('JWT_SECRET must be at least 32 characters in production');

  const encryptionKeyText = secret('ENCRYPTION_KEY', true) ?? DEV_SECRETS.ENCRYPTION_KEY;
  const encryptionKey = parseKey(encryptionKeyText);
  if (!encryptionKey) {
    problems.push('ENCRYPTION_KEY must be 32 bytes as 64 hex characters or base64 (generate one with "openssl rand -hex 32")');
  }

  const redisPrefix = str('REDIS_PREFIX', 'wa');
  if (redisPrefix.includes(':')) problems.push(`REDIS_PREFIX="${redisPrefix}" must not contain ":" (BullMQ uses it as a separator)`);

  const config: Config = {
    nodeEnv,
    role: role as Role,
    host: str('HOST', '0.0.0.0'),
    port: int('PORT', 3000, 0, 65535),
    wsPort: env.WS_PORT?.trim() === 'off' ? undefined : int('WS_PORT', 3001, 0, 65535),
    corsOrigins: corsOrigins(str('CORS_ORIGINS', production ? 'none' : '*'), problems),
    databaseUrl: env.DATABASE_URL?.trim() || undefined,
    redisUrl: env.REDIS_URL?.trim() || undefined,
    redisPrefix,
    dataDir: resolve(str('DATA_DIR', DEFAULT_DATA_DIR)),
    jwtSecret,
    jwtTtlMs: duration('JWT_TTL', '24h'),
    loginTokenTtlMs: duration('LOGIN_TOKEN_TTL', '5m'),
    loginBotRate: rule('LOGIN_BOT_RATE', '3/10m'),
    loginFailureLimit: rule('LOGIN_FAILURE_LIMIT', '5/1h'),
    hstsMaxAgeMs: env.HSTS_MAX_AGE?.trim() ? duration('HSTS_MAX_AGE', '365d') : undefined,
    encryptionKey: encryptionKey ?? Buffer.alloc(32),
    adminUsername: str('ADMIN_USERNAME', 'admin'),
    adminPassword: secret('ADMIN_PASSWORD', true) ?? '',
    adminToken: secret('ADMIN_TOKEN', false),
    apiToken: secret('API_TOKEN', false),
    waWebSocketUrl: str('WA_WEBSOCKET_URL', 'wss://web.whatsapp.com/ws/chat'),
    logLevel: str('LOG_LEVEL', production ? 'info' : 'debug'),
    bodyLimit: int('BODY_LIMIT', 1_048_576, 1024),
    shutdownTimeoutMs: duration('SHUTDOWN_TIMEOUT', '25s'),
    sseMaxBufferBytes: int('SSE_MAX_BUFFER', 1_048_576, 1024),
    sessionLeaseTtlMs: duration('SESSION_LEASE_TTL', '15s'),
    sessionScanMs: duration('SESSION_SCAN_INTERVAL', '5s'),
    pairingCodeTimeoutMs: duration('PAIRING_CODE_TIMEOUT', '30s'),
    loginQrWaitMs: duration('LOGIN_QR_WAIT', '5s', { allowZero: true }),
    sending: {
      minIntervalMs: duration('SEND_MIN_INTERVAL', '1000ms'),
      jitterMs: duration('SEND_JITTER', '500ms', { allowZero: true }),
      recipientIntervalMs: duration('SEND_RECIPIENT_INTERVAL', '0', { allowZero: true }),
      typing: str('SEND_TYPING', 'false') === 'true',
      maxWaitMs: duration('SEND_MAX_WAIT', '10m'),
      policy: { enabled: onOff('SEND_POLICY', 'on'), timeZone: timeZone('SEND_POLICY_TIME_ZONE', 'UTC'), recheckMs: duration('SEND_POLICY_RECHECK', '60s') },
    },
    webhooks: {
      retrySchedule: durations('WEBHOOK_RETRY_SCHEDULE', '5s,5m,30m,2h,5h,10h,10h'),
      retryJitter: fraction('WEBHOOK_RETRY_JITTER', 0.2),
      timeoutMs: duration('WEBHOOK_TIMEOUT', '10s'),
      concurrency: int('WEBHOOK_CONCURRENCY', 50, 1, 1000),
      endpointConcurrency: int('WEBHOOK_ENDPOINT_CONCURRENCY', 5, 1, 1000),
      disableAfterMs: duration('WEBHOOK_DISABLE_AFTER', '5d'),
      secretGraceMs: duration('WEBHOOK_SECRET_GRACE', '24h', { allowZero: true }),
      allowPrivate: str('ALLOW_PRIVATE_WEBHOOKS', 'false') === 'true',
    },
    files: {
      storage: storageSettings(env, problems, resolve(str('DATA_DIR', DEFAULT_DATA_DIR))),
      quotaBytes: int('FILE_QUOTA_BYTES', 1_073_741_824),
      signedUrlTtlMs: duration('FILE_URL_TTL', '1h'),
      allowPrivateUrls: str('ALLOW_PRIVATE_MEDIA_URLS', 'false') === 'true',
      urlFetchTimeoutMs: duration('MEDIA_URL_TIMEOUT', '60s'),
    },
    publicUrl: env.PUBLIC_URL?.trim().replace(/\/$/, '') || undefined,
    ai: {
      openai: env.OPENAI_API_KEY?.trim() ? { apiKey: env.OPENAI_API_KEY.trim(), baseUrl: env.OPENAI_BASE_URL?.trim() || undefined } : undefined,
      anthropic: env.ANTHROPIC_API_KEY?.trim() ? { apiKey: env.ANTHROPIC_API_KEY.trim(), baseUrl: env.ANTHROPIC_BASE_URL?.trim() || undefined } : undefined,
      timeoutMs: duration('AI_TIMEOUT', '60s'),
      attempts: int('AI_ATTEMPTS', 4, 1, 20),
      concurrency: int('AI_CONCURRENCY', 20, 1, 1000),
      deviceConcurrency: int('AI_DEVICE_CONCURRENCY', 2, 1, 100),
      providerConcurrency: int('AI_PROVIDER_CONCURRENCY', 20, 1, 1000),
    },
    qrTimeoutMs: env.QR_TIMEOUT?.trim() ? duration('QR_TIMEOUT', '20s') : undefined,
    warmerTimeZone: timeZone('WARMER_TIME_ZONE', 'UTC'),
    rateLimit: {
      enabled: str('RATE_LIMIT_ENABLED', 'true') !== 'false',
      standard: rule('RATE_LIMIT_STANDARD', '100/15m'),
      sending: rule('RATE_LIMIT_SENDING', '60/1m'),
      uploads: rule('RATE_LIMIT_UPLOADS', '20/1m'),
      admin: rule('RATE_LIMIT_ADMIN', '200/15m'),
      auth: rule('RATE_LIMIT_AUTH', '20/1m'),
    },
  };
  if (!config.databaseUrl && config.role !== 'all') {
    problems.push(`ROLE=${config.role} needs DATABASE_URL: the embedded PostgreSQL (DATABASE_URL unset) serves one process, which runs both roles (ROLE=all)`);
  }
  if (config.databaseUrl && !/^(postgres|postgresql):\/\//.test(config.databaseUrl)) {
    problems.push(`DATABASE_URL="${redact(config.databaseUrl)}" must be a postgres:// URL`);
  }
  if (config.redisUrl && !/^rediss?:\/\//.test(config.redisUrl)) problems.push(`REDIS_URL="${redact(config.redisUrl)}" must be a redis:// URL`);
  if (config.publicUrl && !/^https?:\/\/[^/\s]+(\/\S*)?$/.test(config.publicUrl)) problems.push(`PUBLIC_URL="${config.publicUrl}" must be an http(s):// URL`);
  if (!/^wss?:\/\//.test(config.waWebSocketUrl)) problems.push(`WA_WEBSOCKET_URL="${config.waWebSocketUrl}" must be a ws:// or wss:// URL`);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

function storageSettings(env: NodeJS.ProcessEnv, problems: string[], dataDir: string): StorageSettings {
  const driver = env.STORAGE_DRIVER?.trim() || 'local';
  if (driver === 'local') return { driver, dir: resolve(env.STORAGE_DIR?.trim() || `${dataDir}/files`) };
  if (driver !== 's3') {
    problems.push(`STORAGE_DRIVER="${driver}" must be local or s3`);
    return { driver: 'local', dir: `${dataDir}/files` };
  }
  const bucket = env.S3_BUCKET?.trim() ?? '';
  if (!bucket) problems.push('STORAGE_DRIVER=s3 needs S3_BUCKET');
  const endpoint = env.S3_ENDPOINT?.trim() || undefined;
  if (endpoint && !/^https?:\/\//.test(endpoint)) problems.push(`S3_ENDPOINT="${endpoint}" must be an http(s):// URL`);
  const accessKeyId = env.S3_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.S3_SECRET_ACCESS_KEY?.trim();
  if (!accessKeyId !== !secretAccessKey) problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are set together (or neither, for the SDK\'s default chain)');
  return {
    driver,
    bucket,
    endpoint,
    region: env.S3_REGION?.trim() || 'us-east-1',
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    forcePathStyle: (env.S3_FORCE_PATH_STYLE?.trim() || (endpoint ? 'true' : 'false')) === 'true',
    prefix: (env.S3_PREFIX?.trim() ?? '').replace(/^\/+|\/+$/g, ''),
  };
}

// A browser sends its origin as `scheme://host[:port]`, or `null` from a file:// page.
const ORIGIN = /^(null|[a-z][a-z0-9+.-]*:\/\/[^/\s]+)$/i;

function corsOrigins(text: string, problems: string[]): '*' | string[] {
  if (text === 'none') return [];
  const origins = text.split(',').map((origin) => origin.trim().replace(/\/$/, '')).filter(Boolean);
  const invalid = origins.filter((origin) => origin !== '*' && !ORIGIN.test(origin));
  if (invalid.length) problems.push(`CORS_ORIGINS has ${invalid.join(', ')}: origins read like https://app.example.com (or *, none, null)`);
  return origins.includes('*') ? '*' : origins;
}

function parseRule(text: string): RateLimitRule | undefined {
  const [max, window] = text.split('/');
  const windowMs = window ? parseDuration(window) : undefined;
  if (!max || !/^\d+$/.test(max) || windowMs === undefined || windowMs <= 0) return undefined;
  return { max: Number(max), windowMs };
}

function parseKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  const decoded = Buffer.from(text, 'base64');
  return decoded.length === 32 ? decoded : undefined;
}

// Hides the password of a connection URL in messages and logs.
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
