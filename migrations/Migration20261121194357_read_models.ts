import { Migration } from '@mikro-orm/migrations';

export class Migration20261121194357_read_models extends Migration {

  override name = 'Migration20261121194357_read_models';

  override up(): void | Promise<void> {
    this.addSql(`create table "message_stats_daily" ("tenant_id" int not null, "device_id" int not null, "day" varchar(10) not null, "queued" int not null default 0, "sent" int not null default 0, "delivered" int not null default 0, "read" int not null default 0, "played" int not null default 0, "failed" int not null default 0, "received" int not null default 0, primary key ("tenant_id", "device_id", "day"));`);

    this.addSql(`create table "message_status" ("message_id" varchar(64) not null, "tenant_id" int not null, "device_id" int null, "status" varchar(16) not null, "wa_message_id" varchar(128) null, "error" text null, "queued_at" timestamptz null, "sent_at" timestamptz null, "delivered_at" timestamptz null, "read_at" timestamptz null, "played_at" timestamptz null, "failed_at" timestamptz null, "received_at" timestamptz null, "updated_at" timestamptz not null, primary key ("message_id"));`);
    this.addSql(`create index "message_status_tenant_id_index" on "message_status" ("tenant_id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "message_stats_daily" cascade;`);
    this.addSql(`drop table if exists "message_status" cascade;`);
  }

}
