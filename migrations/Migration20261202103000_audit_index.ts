import { Migration } from '@mikro-orm/migrations';

// The audit trail is a few event types among millions of message events: a partial index over those types, by
// feed position, serves its newest-first pages (src/auth/audit-log.ts). The list is src/domain/audit.ts's.
export class Migration20261202103000_audit_index extends Migration {
  override name = 'Migration20261202103000_audit_index';

  override up(): void {
    this.addSql(`create index "events_audit_index" on "events" ("global_position") where "type" in (
      'auth.logged-in', 'auth.login-failed', 'auth.bot-login-requested', 'auth.session-refreshed', 'auth.logged-out',
      'auth.api-token-created', 'auth.api-token-revoked', 'auth.login-token-issued', 'auth.device-key-created', 'auth.admin-token-used',
      'user.created', 'user.role-changed', 'user.password-set', 'user.disabled', 'user.enabled', 'user.phone-number-changed',
      'webhook.endpoint-created', 'webhook.endpoint-updated', 'webhook.endpoint-deleted', 'webhook.secret-rotated');`);
  }

  override down(): void {
    this.addSql('drop index if exists "events_audit_index";');
  }
}
