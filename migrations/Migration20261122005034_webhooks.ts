import { Migration } from '@mikro-orm/migrations';

export class Migration20261122005034_webhooks extends Migration {

  override name = 'Migration20261122005034_webhooks';

  override up(): void | Promise<void> {
    this.addSql(`create table "webhook_attempts" ("delivery_id" varchar(40) not null, "number" int not null, "at" timestamptz not null, "outcome" varchar(20) not null, "status_code" int null, "latency_ms" int not null, "response_snippet" text null, "error" text null, primary key ("delivery_id", "number"));`);

    this.addSql(`create table "webhook_deliveries" ("id" varchar(40) not null, "endpoint_id" varchar(40) not null, "tenant_id" int not null, "event_id" uuid not null, "event_position" bigint not null, "event_type" varchar(100) not null, "status" text not null, "attempts" int not null default 0, "last_status_code" int null, "last_error" text null, "last_attempt_at" timestamptz null, "next_attempt_at" timestamptz null, "delivered_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "webhook_deliveries_endpoint_id_last_attempt_at_index" on "webhook_deliveries" ("endpoint_id", "last_attempt_at");`);
    this.addSql(`create index "webhook_deliveries_tenant_id_status_index" on "webhook_deliveries" ("tenant_id", "status");`);

    this.addSql(`create table "webhook_endpoints" ("id" varchar(40) not null, "user_id" int not null, "device_id" int null, "kind" text not null default 'endpoint', "format" text not null default 'standard', "url" varchar(2048) not null, "description" varchar(200) null, "events" jsonb not null default '["*"]', "headers" jsonb not null default '{}', "secret" text not null, "previous_secret" text null, "previous_secret_until" timestamptz null, "enabled" boolean not null default true, "disabled_reason" varchar(500) null, "disabled_at" timestamptz null, "retry_on_failure" boolean not null default true, "max_retries" int null, "rate_limit" int null, "failing_since" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "webhook_endpoints_user_id_index" on "webhook_endpoints" ("user_id");`);
    this.addSql(`create index "webhook_endpoints_device_id_index" on "webhook_endpoints" ("device_id");`);

    // Seed 004's settings and seed 003's webhook_url are one endpoint per device each.
    this.addSql(`create unique index "webhook_endpoints_device_kind_unique" on "webhook_endpoints" ("device_id", "kind") where "kind" <> 'endpoint';`);
    // Replays look events up by time; a BRIN index costs appends next to nothing (recorded_at grows with the log).
    this.addSql(`create index "events_recorded_at_brin" on "events" using brin ("recorded_at");`);

    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_status_check" check ("status" in ('retrying', 'delivered', 'failed', 'redelivering'));`);

    this.addSql(`alter table "webhook_endpoints" add constraint "webhook_endpoints_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "webhook_endpoints" add constraint "webhook_endpoints_device_id_foreign" foreign key ("device_id") references "devices" ("id") on delete cascade;`);
    this.addSql(`alter table "webhook_endpoints" add constraint "webhook_endpoints_kind_check" check ("kind" in ('endpoint', 'device-settings', 'session'));`);
    this.addSql(`alter table "webhook_endpoints" add constraint "webhook_endpoints_format_check" check ("format" in ('standard', 'seed003'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "events_recorded_at_brin";`);
    this.addSql(`drop table if exists "webhook_attempts" cascade;`);
    this.addSql(`drop table if exists "webhook_deliveries" cascade;`);
    this.addSql(`drop table if exists "webhook_endpoints" cascade;`);
  }

}
