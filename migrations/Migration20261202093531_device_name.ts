import { Migration } from '@mikro-orm/migrations';

export class Migration20261202093531_device_name extends Migration {

  override name = 'Migration20261202093531_device_name';

  override up(): void | Promise<void> {
    this.addSql(`alter table "devices" add "name" varchar(128) null;`);

  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "devices" drop column "name";`);
  }

}
