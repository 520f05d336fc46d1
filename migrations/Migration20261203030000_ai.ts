import { Migration } from '@mikro-orm/migrations';

// AI auto-replies (src/ai): providers and models an administrator offers, each device's settings, the state of every
// chat the AI answers (its settings, conversation status, the burst being joined and the replies of the last hour,
// written by the reply reactor and the reply job under the row's lock), a log of every call with its tokens and cost,
// and cost limits per user or for the whole platform.
export class Migration20261203030000_ai extends Migration {
  override name = 'Migration20261203030000_ai';

  override up(): void {
    this.addSql(`create table "ai_providers" (
      "id" serial primary key,
      "name" varchar(64) not null unique,
      "display_name" varchar(200) not null,
      "kind" varchar(24) not null,
      "endpoint" varchar(2048) null,
      "api_key" text null,
      "status" varchar(16) not null default 'active',
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now());`);
    this.addSql(`create table "ai_models" (
      "id" serial primary key,
      "provider_id" int not null references "ai_providers" ("id") on delete cascade,
      "name" varchar(128) not null,
      "display_name" varchar(200) not null,
      "input_cost" numeric(14, 6) not null default 0,
      "output_cost" numeric(14, 6) not null default 0,
      "max_tokens" int null,
      "context_window" int null,
      "status" varchar(16) not null default 'active',
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      unique ("provider_id", "name"));`);
    this.addSql(`create table "ai_device_settings" (
      "device_id" int primary key references "devices" ("id") on delete cascade,
      "settings" jsonb not null,
      "updated_at" timestamptz not null default now());`);
    this.addSql(`create table "ai_chats" (
      "device_id" int not null references "devices" ("id") on delete cascade,
      "chat_jid" varchar(128) not null,
      "settings" jsonb not null default '{}',
      "status" varchar(8) not null default 'closed',
      "status_reason" varchar(32) null,
      "paused_until" timestamptz null,
      "memory_since" timestamptz null,
      "last_activity_at" timestamptz null,
      "burst" jsonb null,
      "replies" jsonb not null default '[]',
      "updated_at" timestamptz not null default now(),
      primary key ("device_id", "chat_jid"));`);
    this.addSql(`create table "ai_usage_logs" (
      "id" bigserial primary key,
      "attempt_id" varchar(128) not null unique,
      "user_id" int null,
      "device_id" int null,
      "chat_jid" varchar(128) null,
      "purpose" varchar(16) not null,
      "provider" varchar(64) not null,
      "model" varchar(128) not null,
      "input_tokens" int not null default 0,
      "output_tokens" int not null default 0,
      "cost" numeric(14, 6) not null default 0,
      "duration_ms" int not null,
      "outcome" varchar(16) not null,
      "error" text null,
      "created_at" timestamptz not null default now());`);
    this.addSql(`create index "ai_usage_logs_created_index" on "ai_usage_logs" ("created_at" desc, "id" desc);`);
    this.addSql(`create index "ai_usage_logs_user_created_index" on "ai_usage_logs" ("user_id", "created_at");`);
    this.addSql(`create table "ai_cost_limits" (
      "id" serial primary key,
      "user_id" int null references "users" ("id") on delete cascade,
      "daily_limit" numeric(14, 6) null,
      "monthly_limit" numeric(14, 6) null,
      "updated_at" timestamptz not null default now());`);
    // One row for the platform (no user) and one per user.
    this.addSql(`create unique index "ai_cost_limits_scope_index" on "ai_cost_limits" (coalesce("user_id", 0));`);
  }

  override down(): void {
    for (const table of ['ai_cost_limits', 'ai_usage_logs', 'ai_chats', 'ai_device_settings', 'ai_models', 'ai_providers']) {
      this.addSql(`drop table if exists "${table}";`);
    }
  }
}
