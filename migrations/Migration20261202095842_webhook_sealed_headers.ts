import { Migration } from '@mikro-orm/migrations';

// Custom webhook header values sealed at rest (src/webhooks/headers.ts). Sealing needs ENCRYPTION_KEY, which a
// migration does not have: `headers` keeps the plain values written before this, null where there were none, and
// the platform seals them into `sealed_headers` at start-up, before any worker delivers. Down cannot open sealed
// values: endpoints lose their custom headers.
export class Migration20261202095842_webhook_sealed_headers extends Migration {

  override name = 'Migration20261202095842_webhook_sealed_headers';

  override up(): void | Promise<void> {
    this.addSql(`alter table "webhook_endpoints" add "sealed_headers" jsonb not null default '{}';`);
    this.addSql(`alter table "webhook_endpoints" alter column "headers" drop default;`);
    this.addSql(`alter table "webhook_endpoints" alter column "headers" drop not null;`);
    this.addSql(`update "webhook_endpoints" set "headers" = null where "headers" = '{}'::jsonb;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`update "webhook_endpoints" set "headers" = '{}' where "headers" is null;`);
    this.addSql(`alter table "webhook_endpoints" drop column "sealed_headers";`);
    this.addSql(`alter table "webhook_endpoints" alter column "headers" set default '{}';`);
    this.addSql(`alter table "webhook_endpoints" alter column "headers" set not null;`);
  }

}
