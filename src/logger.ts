import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

// Secrets never reach a log line, whichever header or field carries them.
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-token"]',
  'req.headers["x-admin-token"]',
  'req.headers["x-device-api-key"]',
  'req.headers.cookie',
  '*.password',
  '*.token',
];

interface LoggedRequest {
  method: string;
  url: string;
  ip?: string;
}

// `?token=` (SSE, WebSocket) would otherwise put a credential in every request line.
function request(req: LoggedRequest) {
  return { method: req.method, url: req.url.replace(/([?&]token=)[^&]*/g, '$1[redacted]'), ip: req.ip };
}

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({ level: config.logLevel, redact: { paths: REDACT, censor: '[redacted]' }, serializers: { req: request } });
}
