import { Migration } from '@mikro-orm/migrations';

// The warmer (src/warmer): each campaign with where it stands (its next step, the conversation under way, the run that
// step's job belongs to, the message sent before it), written under the row's lock by the API and the step job; and
// each campaign's own conversation scripts. What happened is in the campaign's stream (`warmer.*` events).
export class Migration20261207000000_warmer extends Migration {
  override name = 'Migration20261207000000_warmer';

  override up(): void {
    this.addSql(`create table "warmer_campaigns" (
      "id" serial primary key,
      "user_id" int not null references "users" ("id") on delete cascade,
      "device_id" int not null references "devices" ("id") on delete cascade,
      "name" varchar(200) not null,
      "target_numbers" jsonb not null,
      "schedule" jsonb not null,
      "settings" jsonb not null,
      "variables" jsonb not null default '{}',
      "status" varchar(16) not null default 'draft',
      "run" int not null default 0,
      "cursor" jsonb null,
      "conversation" jsonb null,
      "next_at" timestamptz null,
      "waits_for" jsonb null,
      "conversations_planned" int not null default 0,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now());`);
    this.addSql(`create index "warmer_campaigns_user_index" on "warmer_campaigns" ("user_id", "id");`);
    this.addSql(`create table "warmer_scripts" (
      "id" serial primary key,
      "campaign_id" int not null references "warmer_campaigns" ("id") on delete cascade,
      "name" varchar(200) not null,
      "messages" jsonb not null,
      "variables" jsonb not null default '[]',
      "created_at" timestamptz not null default now());`);
    this.addSql(`create index "warmer_scripts_campaign_index" on "warmer_scripts" ("campaign_id", "id");`);
  }

  override down(): void {
    for (const table of ['warmer_scripts', 'warmer_campaigns']) this.addSql(`drop table if exists "${table}";`);
  }
}
