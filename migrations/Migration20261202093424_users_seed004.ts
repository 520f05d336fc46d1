import { Migration } from '@mikro-orm/migrations';

export class Migration20261202093424_users_seed004 extends Migration {

  override name = 'Migration20261202093424_users_seed004';

  override up(): void | Promise<void> {
    this.addSql(`alter table "users" add "phone_number" varchar(32) null;`);
    this.addSql(`alter table "users" alter column "password_hash" drop not null;`);
    this.addSql(`alter table "users" add constraint "users_phone_number_unique" unique ("phone_number");`);

  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "users" drop constraint "users_phone_number_unique";`);
    this.addSql(`alter table "users" drop column "phone_number";`);
    this.addSql(`alter table "users" alter column "password_hash" set not null;`);

  }

}
