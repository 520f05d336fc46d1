import { Migration } from '@mikro-orm/migrations';

// Endpoints that ask for received media's bytes in the payload, beside the signed link.
export class Migration20261203020000_webhook_inline_media extends Migration {
  override name = 'Migration20261203020000_webhook_inline_media';

  override up(): void {
    this.addSql(`alter table "webhook_endpoints" add "inline_media" boolean not null default false;`);
  }

  override down(): void {
    this.addSql(`alter table "webhook_endpoints" drop column "inline_media";`);
  }
}
