import { Migration } from '@mikro-orm/migrations';

export class Migration20261121211625_devices extends Migration {

  override name = 'Migration20261121211625_devices';

  override up(): void | Promise<void> {
    this.addSql(`create table "devices" ("id" serial primary key, "user_id" int not null, "alias" varchar(64) not null, "session_id" varchar(200) not null, "status" text not null default 'pending', "desired_state" text not null default 'running', "phone_number" varchar(32) null, "lid" varchar(64) null, "metadata" jsonb not null default '{}', "created_at" timestamptz not null, "connected_at" timestamptz null);`);
    this.addSql(`create index "devices_user_id_index" on "devices" ("user_id");`);
    this.addSql(`alter table "devices" add constraint "devices_session_id_unique" unique ("session_id");`);
    this.addSql(`alter table "devices" add constraint "devices_user_id_alias_unique" unique ("user_id", "alias");`);

    this.addSql(`create table "session_keys" ("device_id" int not null, "type" varchar(32) not null, "key_id" varchar(200) not null, "data" text not null, primary key ("device_id", "type", "key_id"));`);

    this.addSql(`create table "session_creds" ("device_id" int not null, "data" text not null, "updated_at" timestamptz not null, primary key ("device_id"));`);

    this.addSql(`alter table "api_keys" add constraint "api_keys_device_id_foreign" foreign key ("device_id") references "devices" ("id") on delete cascade;`);

    this.addSql(`alter table "devices" add constraint "devices_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "devices" add constraint "devices_status_check" check ("status" in ('pending', 'connecting', 'connected', 'disconnected', 'logged_out', 'error'));`);
    this.addSql(`alter table "devices" add constraint "devices_desired_state_check" check ("desired_state" in ('running', 'stopped'));`);

    this.addSql(`alter table "session_keys" add constraint "session_keys_device_id_foreign" foreign key ("device_id") references "devices" ("id") on delete cascade;`);

    this.addSql(`alter table "session_creds" add constraint "session_creds_device_id_foreign" foreign key ("device_id") references "devices" ("id") on update cascade on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "session_keys" drop constraint "session_keys_device_id_foreign";`);
    this.addSql(`alter table "session_creds" drop constraint "session_creds_device_id_foreign";`);
    this.addSql(`alter table "api_keys" drop constraint "api_keys_device_id_foreign";`);

    this.addSql(`drop table if exists "devices" cascade;`);
    this.addSql(`drop table if exists "session_keys" cascade;`);
    this.addSql(`drop table if exists "session_creds" cascade;`);
  }

}
