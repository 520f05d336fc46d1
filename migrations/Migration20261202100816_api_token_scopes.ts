import { Migration } from '@mikro-orm/migrations';

export class Migration20261202100816_api_token_scopes extends Migration {

  override name = 'Migration20261202100816_api_token_scopes';

  override up(): void | Promise<void> {
    this.addSql(`alter table "api_keys" add "scopes" text[] null, add "device_ids" int[] null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "api_keys" drop column "scopes", drop column "device_ids";`);
  }

}
