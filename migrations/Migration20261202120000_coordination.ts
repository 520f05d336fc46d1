import { Migration } from '@mikro-orm/migrations';

// What the coordination store keeps in PostgreSQL when no Redis is configured (src/coordination/
// postgres-coordination.ts). Ordinary logged tables: a lease's token must never go back, even after a crash.
export class Migration20261202120000_coordination extends Migration {
  override name = 'Migration20261202120000_coordination';

  override up(): void {
    this.addSql(`create table "coordination_values" ("key" text primary key, "value" text not null, "expires_at" timestamptz not null);`);
    this.addSql(`create table "coordination_set_members" ("key" text not null, "member" text not null, primary key ("key", "member"));`);
    this.addSql(`create table "coordination_counters" ("key" text primary key, "count" bigint not null, "expires_at" timestamptz not null);`);
    // A released lease keeps its row (owner null): the next acquisition's token grows from it.
    this.addSql(`create table "coordination_leases" ("name" text primary key, "owner" text null, "token" bigint not null, "expires_at" timestamptz not null);`);
    // Released slots stay until the sweep, so that the grants of the current second can be counted.
    this.addSql(`create table "coordination_slots" ("key" text not null, "token" uuid not null, "granted_at" timestamptz not null,
      "expires_at" timestamptz not null, "released" boolean not null default false, primary key ("key", "token"));`);
    // Who listens on a channel: a row per listening connection, alive while its backend is in pg_stat_activity.
    this.addSql(`create table "coordination_subscriptions" ("channel" text not null, "backend_pid" int not null, "backend_start" timestamptz not null,
      primary key ("channel", "backend_pid"));`);
    // Messages too large for a NOTIFY payload (8,000 bytes): the notification carries the row's id.
    this.addSql(`create table "coordination_messages" ("id" bigserial primary key, "payload" text not null, "created_at" timestamptz not null default clock_timestamp());`);
    // One round trip for a slot: a lock per key, then the two limits, then the grant.
    this.addSql(`create function "coordination_acquire_slot"(p_key text, p_max int, p_lease_ms int, p_per_second int, p_token uuid) returns boolean
      language plpgsql as $$
      declare
        now timestamptz;
      begin
        perform pg_advisory_xact_lock(hashtextextended('coordination_slots:' || p_key, 0));
        -- Read once the lock is held: a caller that waited judges lapses and the current second by now, not by when it came.
        now := clock_timestamp();
        if (select count(*) from coordination_slots where key = p_key and not released and expires_at > now) >= p_max then
          return false;
        end if;
        if p_per_second > 0 and (select count(*) from coordination_slots where key = p_key and granted_at >= date_trunc('second', now)) >= p_per_second then
          return false;
        end if;
        insert into coordination_slots (key, token, granted_at, expires_at) values (p_key, p_token, now, now + p_lease_ms * interval '1 millisecond');
        return true;
      end $$;`);
  }

  override down(): void {
    this.addSql('drop function if exists "coordination_acquire_slot"(text, int, int, int, uuid);');
    for (const table of ['messages', 'subscriptions', 'slots', 'leases', 'counters', 'set_members', 'values']) {
      this.addSql(`drop table if exists "coordination_${table}";`);
    }
  }
}
