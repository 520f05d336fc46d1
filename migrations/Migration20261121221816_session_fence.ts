import { Migration } from '@mikro-orm/migrations';

export class Migration20261121221816_session_fence extends Migration {

  override name = 'Migration20261121221816_session_fence';

  override up(): void | Promise<void> {
    this.addSql(`alter table "devices" add "session_fence" bigint null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "devices" drop column "session_fence";`);
  }

}
