import { Migration } from '@mikro-orm/migrations';

export class Migration20261202093945_login_bot extends Migration {

  override name = 'Migration20261202093945_login_bot';

  override up(): void | Promise<void> {
    this.addSql(`create table "login_bot" ("id" serial primary key, "device_id" int not null, "designated_at" timestamptz not null, "designated_by_id" int null);`);
    this.addSql(`alter table "login_bot" add constraint "login_bot_device_id_unique" unique ("device_id");`);

    this.addSql(`alter table "login_bot" add constraint "login_bot_device_id_foreign" foreign key ("device_id") references "devices" ("id") on delete cascade;`);
    this.addSql(`alter table "login_bot" add constraint "login_bot_designated_by_id_foreign" foreign key ("designated_by_id") references "users" ("id") on delete set null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "login_bot" cascade;`);
  }

}
