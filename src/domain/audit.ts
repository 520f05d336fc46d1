import type { EventType } from './events.ts';

// The event types that make up the audit trail (GET /api/whatsapp/admin/audit). The events table has a partial
// index over exactly these (migrations/Migration20261202103000_audit_index.ts): a type added here needs a
// migration that widens the index.
export const AUDIT_ACTIONS = [
  'auth.logged-in',
  'auth.login-failed',
  'auth.bot-login-requested',
  'auth.session-refreshed',
  'auth.logged-out',
  'auth.api-token-created',
  'auth.api-token-revoked',
  'auth.login-token-issued',
  'auth.device-key-created',
  'auth.admin-token-used',
  'user.created',
  'user.role-changed',
  'user.password-set',
  'user.disabled',
  'user.enabled',
  'user.phone-number-changed',
  'webhook.endpoint-created',
  'webhook.endpoint-updated',
  'webhook.endpoint-deleted',
  'webhook.secret-rotated',
] as const satisfies readonly EventType[];

export type AuditAction = (typeof AUDIT_ACTIONS)[number];
