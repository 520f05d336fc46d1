import fp from 'fastify-plugin';
import type { FastifyError } from 'fastify';
import { AppError, type ErrorCode } from '../../domain/errors.ts';

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

// Turns fastify's validation issues into `{field, message}` pairs a client can show next to its inputs.
function fieldsOf(err: FastifyError): { field: string; message: string }[] {
  return ((err.validation ?? []) as ValidationIssue[]).map((issue) => {
    const missing = issue.params?.missingProperty ?? issue.params?.requiredProperties;
    const path = `${(issue.instancePath ?? '').replaceAll('/', '.').replace(/^\./, '')}`;
    const field = [err.validationContext, path, typeof missing === 'string' ? missing : undefined]
      .filter(Boolean)
      .join('.');
    return { field, message: issue.message ?? 'is invalid' };
  });
}

const FASTIFY_CODES: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'Request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Type'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['VALIDATION_ERROR', 'Body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['VALIDATION_ERROR', 'Body cannot be empty when Content-Type is application/json'],
};

// One place decides what a failure looks like on the wire; 5xx details stay in the log.
export default fp(async (app) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof AppError) {
      return reply.code(err.statusCode).send({
        success: false,
        error: err.message,
        code: err.code,
        ...(err.details === undefined ? {} : { details: err.details }),
      });
    }
    if (err.validation) {
      return reply.code(400).send({ success: false, error: 'Request validation failed', code: 'VALIDATION_ERROR', details: fieldsOf(err) });
    }
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known) return reply.code(err.statusCode ?? 400).send({ success: false, error: known[1], code: known[0] });
    if (err.statusCode && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ success: false, error: err.message, code: 'BAD_REQUEST' });
    }
    request.log.error({ err }, 'request failed');
    return reply.code(500).send({ success: false, error: 'Internal server error', code: 'INTERNAL_ERROR' });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ success: false, error: `Route ${request.method} ${request.url.split('?')[0]} not found`, code: 'NOT_FOUND' }),
  );
});
