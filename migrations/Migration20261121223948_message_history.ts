import { Migration } from '@mikro-orm/migrations';

export class Migration20261121223948_message_history extends Migration {

  override name = 'Migration20261121223948_message_history';

  override up(): void | Promise<void> {
    this.addSql(`alter table "message_status" add "direction" varchar(3) not null default 'out', add "chat_jid" varchar(128) null, add "sender" varchar(128) null, add "sender_lid" varchar(128) null, add "content_type" varchar(48) null, add "body" text null, add "created_at" timestamptz null;`);
    this.addSql(`create index "message_status_device_id_chat_jid_created_at_index" on "message_status" ("device_id", "chat_jid", "created_at");`);
    this.addSql(`create index "message_status_tenant_id_created_at_index" on "message_status" ("tenant_id", "created_at");`);
    this.addSql(`create index "message_status_device_id_wa_message_id_index" on "message_status" ("device_id", "wa_message_id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "message_status_device_id_chat_jid_created_at_index";`);
    this.addSql(`drop index "message_status_tenant_id_created_at_index";`);
    this.addSql(`drop index "message_status_device_id_wa_message_id_index";`);
    this.addSql(`alter table "message_status" drop column "direction", drop column "chat_jid", drop column "sender", drop column "sender_lid", drop column "content_type", drop column "body", drop column "created_at";`);
  }

}
