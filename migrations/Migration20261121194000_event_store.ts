import { Migration } from '@mikro-orm/migrations';

// The event store is written by hand (MikroORM's schema diff does not know these tables; they are listed in
// schemaGenerator.skipTables). Readers follow the log by (transaction_id, global_position) and only below
// pg_snapshot_xmin(pg_current_snapshot()), so an event whose transaction commits late is never skipped.
export class Migration20261121194000_event_store extends Migration {
  override name = 'Migration20261121194000_event_store';

  override up(): void {
    this.addSql(`create table "streams" (
      "stream_id" text primary key,
      "version" integer not null,
      "updated_at" timestamptz not null default now()
    );`);
    this.addSql(`create table "events" (
      "global_position" bigserial primary key,
      "transaction_id" xid8 not null default pg_current_xact_id(),
      "event_id" uuid not null unique,
      "stream_id" text not null,
      "stream_version" integer not null,
      "type" text not null,
      "type_version" integer not null,
      "data" jsonb not null,
      "metadata" jsonb not null default '{}',
      "tenant_id" integer null,
      "device_id" integer null,
      "session_id" text null,
      "recorded_at" timestamptz not null default now(),
      unique ("stream_id", "stream_version")
    );`);
    this.addSql(`create index "events_feed_index" on "events" ("transaction_id", "global_position");`);
    this.addSql(`create index "events_tenant_feed_index" on "events" ("tenant_id", "transaction_id", "global_position");`);
    this.addSql(`create table "projection_checkpoints" (
      "name" text primary key,
      "transaction_id" xid8 not null default '0',
      "global_position" bigint not null default 0,
      "updated_at" timestamptz not null default now()
    );`);
  }

  override down(): void {
    this.addSql('drop table if exists "projection_checkpoints";');
    this.addSql('drop table if exists "events";');
    this.addSql('drop table if exists "streams";');
  }
}
