import { Migration } from '@mikro-orm/migrations';

// Receipts name our messages by WhatsApp id: find the message from the log itself (not a read model that may lag).
export class Migration20261121230500_sent_wa_ids extends Migration {
  override name = 'Migration20261121230500_sent_wa_ids';

  override up(): void | Promise<void> {
    this.addSql(`create index "events_sent_wa_message_id_index" on "events" ("device_id", (data->>'waMessageId')) where type = 'message.sent';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "events_sent_wa_message_id_index";`);
  }
}
