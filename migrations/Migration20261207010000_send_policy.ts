import { Migration } from '@mikro-orm/migrations';

// The send policy (src/policy): per device its settings over the defaults, an owner's hold, the health pause it is
// in, the first-contact pause after a 463, and since when risk signals count (a served pause forgives those before). Held messages show why (message_status.held_reason). The sender
// counts each device's sends of the day and reads its risk signals from the log, by device, type and time.
export class Migration20261207010000_send_policy extends Migration {
  override name = 'Migration20261207010000_send_policy';

  override up(): void {
    this.addSql(`create table "device_send_policies" (
      "device_id" int primary key references "devices" ("id") on delete cascade,
      "settings" jsonb not null default '{}',
      "held_by_owner" boolean not null default false,
      "pause_level" varchar(16) null,
      "pause_until" timestamptz null,
      "pause_reason" text null,
      "first_contacts_paused_until" timestamptz null,
      "signals_since" timestamptz null,
      "updated_at" timestamptz not null default now());`);
    this.addSql(`alter table "message_status" add column "held_reason" text null;`);
    this.addSql(`create index "events_device_type_recorded_index" on "events" ("device_id", "type", "recorded_at");`);
  }

  override down(): void {
    this.addSql(`drop index if exists "events_device_type_recorded_index";`);
    this.addSql(`alter table "message_status" drop column if exists "held_reason";`);
    this.addSql(`drop table if exists "device_send_policies";`);
  }
}
