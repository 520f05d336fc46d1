import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../domain/errors.ts';
import { inputIssues, type InputIssue } from '../../domain/input-safety.ts';

// PostgreSQL's `integer`, the type of every id and count the API takes; a route taking a wider number (a
// position in the event log) declares its own `maximum`.
const INTEGER_RANGE = { minimum: -2_147_483_648, maximum: 2_147_483_647 };

type Schema = Record<string, unknown>;

// Gives every integer of an input schema the bounds it lacks, so that ajv refuses what no column holds (with the
// field named, like any other validation failure). Bounds are written into the schema, so the OpenAPI document
// shows them too. (ajv checks no bound on a non-finite number: Infinity is the hooks' below.)
function boundIntegers(schema: unknown): void {
  if (typeof schema !== 'object' || schema === null) return;
  const node = schema as Schema;
  if (node.type === 'integer') {
    node.minimum ??= INTEGER_RANGE.minimum;
    node.maximum ??= INTEGER_RANGE.maximum;
  }
  for (const child of Object.values(node)) {
    if (Array.isArray(child)) child.forEach(boundIntegers);
    else if (typeof child === 'object') boundIntegers(child);
  }
}

function refuse(issues: InputIssue[]): void {
  if (issues.length) throw new AppError('VALIDATION_ERROR', 'Request validation failed', issues);
}

// The one gate every request passes before any route or credential check touches the database: path parameters
// and the query string on arrival (credentials travel in `?token=` too), the body once parsed, and the numbers
// validation coerced, before the handler. src/domain/input-safety.ts says what is refused and why.
export default fp(async (app) => {
  app.addHook('onRoute', (route) => {
    const schema = route.schema as Schema | undefined;
    if (schema) for (const part of ['body', 'querystring', 'params', 'headers']) boundIntegers(schema[part]);
  });
  app.addHook('onRequest', async (request: FastifyRequest) => {
    refuse([...inputIssues(request.params, 'params'), ...inputIssues(request.query, 'querystring')]);
  });
  app.addHook('preValidation', async (request: FastifyRequest) => {
    refuse(inputIssues(request.body, 'body'));
  });
  // Validation coerces query strings, path parameters and headers to numbers: `1e400` among them is Infinity now.
  app.addHook('preHandler', async (request: FastifyRequest) => {
    refuse([...inputIssues(request.params, 'params'), ...inputIssues(request.query, 'querystring'), ...inputIssues(request.headers, 'headers')]);
  });
});
