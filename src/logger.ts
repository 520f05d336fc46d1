import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.ts';
import { scrub } from './log-safety.ts';

export type { Logger };

interface LoggedRequest {
  method: string;
  url: string;
  ip?: string;
}

// `?token=` (SSE, WebSocket) would otherwise put a credential in every request line.
function request(req: LoggedRequest) {
  return { method: req.method, url: req.url.replace(/([?&]token=)[^&]*/g, '$1[redacted]'), ip: req.ip };
}

// Fastify's raw request and reply: their serializers keep only harmless fields (no headers at all).
const SERIALIZED = new Set(['req', 'res']);

// Secrets never reach a log line, whichever field carries them and at whatever depth (src/log-safety.ts). Errors
// arrive already serialized by `scrub`.
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  const options = {
    level: config.logLevel,
    formatters: { log: (object: Record<string, unknown>) => scrub(object, SERIALIZED) },
    serializers: { req: request, err: (err: unknown) => (err instanceof Error ? pino.stdSerializers.err(err) : err) },
  };
  return destination ? pino(options, destination) : pino(options);
}
