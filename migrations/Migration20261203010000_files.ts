import { Migration } from '@mikro-orm/migrations';

// Files (src/files/file-records.ts): one row per file a user has, its bytes in storage under their sha256 (one blob
// however many rows share it). A deleted file keeps its row (`deleted_at`) until no hold remains on it: a message
// queued with the file holds it until it is sent, fails or is cancelled, so a deletion never breaks a send.
export class Migration20261203010000_files extends Migration {
  override name = 'Migration20261203010000_files';

  override up(): void {
    this.addSql(`create table "files" (
      "id" varchar(64) primary key,
      "tenant_id" int not null references "users" ("id") on delete cascade,
      "sha256" char(64) not null,
      "size" bigint not null,
      "mimetype" varchar(128) not null,
      "kind" varchar(16) not null,
      "filename" varchar(255) not null,
      "description" text null,
      "tags" text[] not null default '{}',
      "source" varchar(16) not null,
      "width" int null,
      "height" int null,
      "created_at" timestamptz not null default now(),
      "deleted_at" timestamptz null);`);
    this.addSql(`create index "files_tenant_kind_created_index" on "files" ("tenant_id", "kind", "created_at" desc, "id" desc) where "deleted_at" is null;`);
    this.addSql(`create index "files_sha256_index" on "files" ("sha256");`);
    this.addSql(`create table "file_holds" (
      "file_id" varchar(64) not null references "files" ("id") on delete cascade,
      "message_id" varchar(64) not null,
      primary key ("file_id", "message_id"));`);
    this.addSql(`create index "file_holds_message_index" on "file_holds" ("message_id");`);
  }

  override down(): void {
    this.addSql('drop table if exists "file_holds";');
    this.addSql('drop table if exists "files";');
  }
}
