import { Migration } from '@mikro-orm/migrations';

// A media message's file, so history and logs show which file a message carried.
export class Migration20261203001500_message_files extends Migration {
  override name = 'Migration20261203001500_message_files';

  override up(): void {
    this.addSql(`alter table "message_status" add "file_id" varchar(64) null;`);
  }

  override down(): void {
    this.addSql(`alter table "message_status" drop column "file_id";`);
  }
}
