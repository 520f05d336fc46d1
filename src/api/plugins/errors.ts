import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERROR_STATUS, type ErrorCode } from '../../domain/errors.ts';
import { databaseRefusal } from '../../db/database-errors.ts';

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

interface FieldIssue {
  field: string;
  message: string;
}

// Turns fastify's validation issues into `{field, message}` pairs a client can show next to its inputs.
function fieldsOf(err: FastifyError): FieldIssue[] {
  return ((err.validation ?? []) as ValidationIssue[]).map((issue) => {
    const missing = issue.params?.missingProperty ?? issue.params?.requiredProperties;
    const path = `${(issue.instancePath ?? '').replaceAll('/', '.').replace(/^\./, '')}`;
    const field = [err.validationContext, path, typeof missing === 'string' ? missing : undefined]
      .filter(Boolean)
      .join('.');
    return { field, message: issue.message ?? 'is invalid' };
  });
}

const isFieldList = (details: unknown): details is FieldIssue[] =>
  Array.isArray(details) && details.length > 0 && details.every((d) => typeof d?.field === 'string' && typeof d?.message === 'string');

// What to do about the failures whose sentence does not say it.
function hintOf(code: string): string | undefined {
  if (code === 'TOKEN_EXPIRED') return 'Log in again (POST /api/auth/login), or refresh a token before it expires (POST /api/auth/refresh).';
  if (code === 'INVALID_TOKEN') return 'Send a current token: log in again (POST /api/auth/login) for a new one.';
  if (code.endsWith('_NOT_FOUND')) return "It does not exist, or it is not yours: another user's resources answer as missing ones.";
  return undefined;
}

// Seed 003's clients read `{error, message}` (a kind and its description), seed 004's `{success, error, code,
// details}`. `error` stays seed 004's sentence; `message` tells a person the same with what they need to act on it:
// the fields at fault, what to do, when to try again.
function messageOf(code: string, error: string, details: unknown, reply: FastifyReply): string {
  const fields = isFieldList(details) ? `: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}` : '';
  const hint = hintOf(code);
  const retryAfter = reply.getHeader('retry-after');
  return `${error}${fields}${hint ? `. ${hint}` : ''}${retryAfter === undefined ? '' : ` (try again in ${retryAfter} s)`}`;
}

function send(reply: FastifyReply, status: number, code: ErrorCode | 'BAD_REQUEST', error: string, options: { details?: unknown; message?: string } = {}) {
  return reply.code(status).send({
    success: false,
    error,
    message: options.message ?? messageOf(code, error, options.details, reply),
    code,
    ...(options.details === undefined ? {} : { details: options.details }),
  });
}

// What fastify itself refuses before a route runs, in our codes and in words.
const FASTIFY_CODES: Record<string, [ErrorCode, string, (request: FastifyRequest) => string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [
    'PAYLOAD_TOO_LARGE',
    'Request body is too large',
    (request) => `The request body is larger than this route accepts (${request.routeOptions.bodyLimit} bytes)`,
  ],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    'UNSUPPORTED_MEDIA_TYPE',
    'Unsupported Content-Type',
    (request) => `Content-Type "${request.headers['content-type']}" is not accepted here: send the body as application/json`,
  ],
  FST_ERR_CTP_INVALID_JSON_BODY: ['VALIDATION_ERROR', 'Body is not valid JSON', () => 'The body could not be parsed as JSON: check its quotes, commas and brackets'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [
    'VALIDATION_ERROR',
    'Body cannot be empty when Content-Type is application/json',
    () => 'The request says its body is JSON (Content-Type: application/json) but sends none: send a JSON body or drop the header',
  ],
};

// What fastify's router refuses before any route or hook runs (fastify's `frameworkErrors` option): a path that
// does not percent-decode, a path parameter longer than the router takes.
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
  return send(reply, 400, 'VALIDATION_ERROR', tooLong ? 'A path parameter is too long' : 'The URL is malformed', {
    details: [{ field: 'params', message: tooLong ? 'is longer than any route takes' : 'is not valid percent-encoded UTF-8' }],
  });
}

// What Node's HTTP parser refuses before fastify sees a request (a request line and headers beyond its 16 KB, a
// request that is not HTTP, one too slow to arrive), written on the socket in our shape (fastify's
// `clientErrorHandler`: there is no reply to send with).
const CLIENT_ERRORS: Record<string, [number, ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'REQUEST_HEADERS_TOO_LARGE', 'The request line and headers are larger than the server reads (16 KB): shorten the URL or the headers'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'The request did not arrive in time'],
};
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex) {
  // A connection the client reset has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, error] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'VALIDATION_ERROR', 'The request is not valid HTTP'];
  const body = JSON.stringify({ success: false, error, message: error, code });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

// One place decides what a failure looks like on the wire; 5xx details stay in the log.
export default fp(async (app) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof AppError) {
      // A refusal that says when to come back (the per-account login slowdown) says it in Retry-After too.
      const retryAfter = (err.details as { retryAfter?: unknown } | undefined)?.retryAfter;
      if (typeof retryAfter === 'number') reply.header('retry-after', retryAfter);
      return send(reply, err.statusCode, err.code, err.message, { details: err.details });
    }
    // Never the statement, the constraint or the value: the log has them.
    const refusal = databaseRefusal(err);
    if (refusal) {
      request.log.warn({ err }, 'database refused the request');
      if (refusal.retryAfterSeconds) reply.header('retry-after', refusal.retryAfterSeconds);
      return send(reply, ERROR_STATUS[refusal.code], refusal.code, refusal.message);
    }
    if (err.validation) return send(reply, 400, 'VALIDATION_ERROR', 'Request validation failed', { details: fieldsOf(err) });
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known) return send(reply, err.statusCode ?? 400, known[0], known[1], { message: known[2](request) });
    if (err.statusCode && err.statusCode < 500) return send(reply, err.statusCode, 'BAD_REQUEST', err.message);
    request.log.error({ err }, 'request failed');
    return send(reply, 500, 'INTERNAL_ERROR', 'Internal server error', {
      message: `The request failed on our side and may not have taken effect; it is logged under request id ${request.id}`,
    });
  });

  app.setNotFoundHandler((request, reply) => {
    const route = `${request.method} ${request.url.split('?')[0]}`;
    return send(reply, 404, 'NOT_FOUND', `Route ${route} not found`, { message: `There is no route ${route}: check the method and the path (the API is described at /docs)` });
  });
});
