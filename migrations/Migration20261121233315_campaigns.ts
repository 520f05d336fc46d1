import { Migration } from '@mikro-orm/migrations';

export class Migration20261121233315_campaigns extends Migration {

  override name = 'Migration20261121233315_campaigns';

  override up(): void | Promise<void> {
    this.addSql(`create table "campaigns" ("id" varchar(64) not null, "tenant_id" int not null, "device_id" int not null, "name" varchar(200) null, "state" text not null default 'running', "total" int not null, "accepted" int not null, "rejected" jsonb not null default '[]', "created_at" timestamptz not null, "completed_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "campaigns_tenant_id_index" on "campaigns" ("tenant_id");`);

    this.addSql(`alter table "message_stats_daily" add "cancelled" int not null default 0;`);

    this.addSql(`alter table "message_status" add "campaign_id" varchar(64) null, add "cancelled_at" timestamptz null;`);
    this.addSql(`create index "message_status_campaign_id_status_index" on "message_status" ("campaign_id", "status");`);

    this.addSql(`alter table "campaigns" add constraint "campaigns_state_check" check ("state" in ('running', 'paused', 'cancelled', 'completed'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "campaigns" cascade;`);

    this.addSql(`alter table "message_stats_daily" drop column "cancelled";`);

    this.addSql(`drop index "message_status_campaign_id_status_index";`);
    this.addSql(`alter table "message_status" drop column "campaign_id", drop column "cancelled_at";`);
  }

}
