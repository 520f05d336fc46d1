import { Migration } from '@mikro-orm/migrations';

// Business templates (src/templates): each user's own sets, one per business type and language. The shipped sets
// live in code; a row of the same type and language takes a shipped set's place for its user.
export class Migration20261206230000_business_templates extends Migration {
  override name = 'Migration20261206230000_business_templates';

  override up(): void {
    this.addSql(`create table "business_templates" (
      "id" serial primary key,
      "user_id" int not null references "users" ("id") on delete cascade,
      "business_type" varchar(64) not null,
      "language" varchar(16) not null,
      "display_name" varchar(200) not null,
      "templates" jsonb not null,
      "categories" jsonb not null default '[]',
      "is_active" boolean not null default true,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "business_templates_user_type_language_unique" unique ("user_id", "business_type", "language"));`);
  }

  override down(): void {
    this.addSql(`drop table if exists "business_templates";`);
  }
}
