import { Migration } from '@mikro-orm/migrations';

export class Migration20261121191836_auth extends Migration {

  override name = 'Migration20261121191836_auth';

  override up(): void | Promise<void> {
    this.addSql(`create table "users" ("id" serial primary key, "username" varchar(64) not null, "password_hash" varchar(255) not null, "role" text not null default 'user', "created_at" timestamptz not null, "disabled_at" timestamptz null);`);
    this.addSql(`alter table "users" add constraint "users_username_unique" unique ("username");`);

    this.addSql(`create table "login_tokens" ("id" serial primary key, "user_id" int not null, "token_hash" varchar(64) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null);`);
    this.addSql(`create index "login_tokens_user_id_index" on "login_tokens" ("user_id");`);
    this.addSql(`alter table "login_tokens" add constraint "login_tokens_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "login_tokens_expires_at_index" on "login_tokens" ("expires_at");`);

    this.addSql(`create table "auth_sessions" ("id" uuid not null, "user_id" int not null, "method" text not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "revoked_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "auth_sessions_user_id_index" on "auth_sessions" ("user_id");`);
    this.addSql(`create index "auth_sessions_expires_at_index" on "auth_sessions" ("expires_at");`);

    this.addSql(`create table "api_keys" ("id" serial primary key, "user_id" int not null, "kind" text not null, "device_id" int null, "public_id" varchar(32) not null, "secret_hash" varchar(64) not null, "name" varchar(100) not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, "expires_at" timestamptz null, "revoked_at" timestamptz null);`);
    this.addSql(`create index "api_keys_user_id_index" on "api_keys" ("user_id");`);
    this.addSql(`create index "api_keys_device_id_index" on "api_keys" ("device_id");`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_public_id_unique" unique ("public_id");`);

    this.addSql(`alter table "users" add constraint "users_role_check" check ("role" in ('admin', 'user'));`);

    this.addSql(`alter table "login_tokens" add constraint "login_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);

    this.addSql(`alter table "auth_sessions" add constraint "auth_sessions_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "auth_sessions" add constraint "auth_sessions_method_check" check ("method" in ('password', 'login-token', 'refresh'));`);

    this.addSql(`alter table "api_keys" add constraint "api_keys_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_kind_check" check ("kind" in ('api-token', 'device'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "login_tokens" drop constraint "login_tokens_user_id_foreign";`);
    this.addSql(`alter table "auth_sessions" drop constraint "auth_sessions_user_id_foreign";`);
    this.addSql(`alter table "api_keys" drop constraint "api_keys_user_id_foreign";`);

    this.addSql(`drop table if exists "users" cascade;`);
    this.addSql(`drop table if exists "login_tokens" cascade;`);
    this.addSql(`drop table if exists "auth_sessions" cascade;`);
    this.addSql(`drop table if exists "api_keys" cascade;`);
  }

}
