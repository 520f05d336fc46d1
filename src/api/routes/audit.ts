import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listAudit } from '../../auth/audit-log.ts';
import { AUDIT_ACTIONS } from '../../domain/audit.ts';
import { errors, IsoDate, Nullable, ok, page } from '../schemas.ts';

const AuditEntry = Type.Object({
  id: Type.Integer({ description: "The entry's position in the event log (newest first; the page cursor)" }),
  eventId: Type.String({ format: 'uuid' }),
  action: Type.String({ description: 'The event type, such as auth.login-failed or user.role-changed' }),
  stream: Type.String({ description: 'What it is about: account-<username> or webhook-endpoint-<id>' }),
  at: IsoDate,
  data: Type.Record(Type.String(), Type.Unknown(), { description: 'Ids and names only: never a password, token or secret' }),
  actor: Nullable(
    Type.Object(
      { userId: Type.Integer(), username: Type.String(), via: Type.String({ description: 'jwt, api-token, device-key, admin-token, basic, password, login-token' }) },
      { description: 'Who acted (null: nobody authenticated, as on a failed login)' },
    ),
  ),
  ip: Nullable(Type.String({ description: "The client's address (behind a proxy, the one X-Forwarded-For names)" })),
  requestId: Nullable(Type.String({ description: 'The X-Request-Id of the request that did it' })),
});

const AuditQuery = Type.Object(
  {
    action: Type.Optional(Type.Union(AUDIT_ACTIONS.map((a) => Type.Literal(a)), { description: 'Only entries of this action' })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "Only what this user did (their username)" })),
    since: Type.Optional(IsoDate),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.Integer({ minimum: 1, description: 'The `nextCursor` of the previous page' })),
  },
  { additionalProperties: false },
);

// The audit trail (issue 11): logins and failed logins, sessions, credentials, user and role changes, admin-token
// use and webhook endpoint changes, as recorded in the event log with the change itself.
const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/api/whatsapp/admin/audit', {
    config: { auth: 'admin', scope: 'admin' },
    schema: {
      tags: ['admin'],
      summary: 'The audit trail of security-relevant actions, newest first',
      querystring: AuditQuery,
      response: { 200: ok(page(AuditEntry)), ...errors(400, 401, 403, 429) },
    },
    handler: async (request) => {
      const { since, ...rest } = request.query;
      return { success: true, data: await listAudit(request.em, { ...rest, ...(since ? { since: new Date(since) } : {}) }) } as const;
    },
  });
};

export default auditRoutes;
