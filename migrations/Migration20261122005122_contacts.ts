import { Migration } from '@mikro-orm/migrations';

export class Migration20261122005122_contacts extends Migration {

  override name = 'Migration20261122005122_contacts';

  override up(): void | Promise<void> {
    this.addSql(`create table "contacts" ("device_id" int not null, "jid" varchar(128) not null, "tenant_id" int not null, "lid" varchar(128) null, "contact_name" varchar(256) null, "whatsapp_name" varchar(256) null, "verified_name" varchar(256) null, "source" varchar(16) not null, "presence" varchar(16) null, "last_seen" timestamptz null, "presence_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("device_id", "jid"));`);
    this.addSql(`create index "contacts_device_id_lid_index" on "contacts" ("device_id", "lid");`);
    this.addSql(`create index "contacts_tenant_id_jid_index" on "contacts" ("tenant_id", "jid");`);

    this.addSql(`create table "lid_mappings" ("tenant_id" int not null, "lid" varchar(128) not null, "pn" varchar(128) not null, "learned_at" timestamptz not null, primary key ("tenant_id", "lid"));`);
    this.addSql(`create index "lid_mappings_tenant_id_pn_index" on "lid_mappings" ("tenant_id", "pn");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "contacts" cascade;`);
    this.addSql(`drop table if exists "lid_mappings" cascade;`);
  }

}
