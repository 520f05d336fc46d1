import { Migration } from '@mikro-orm/migrations';

// coordination_acquire_slot read the clock before waiting for the key's lock: a caller that waited judged lapses and
// the current second by the time it arrived, so it refused slots that had lapsed meanwhile and stamped its grant into
// a second already past (one more grant than perSecond in the next). The clock is now read once the lock is held.
export class Migration20261202120500_coordination_slot_clock extends Migration {
  override name = 'Migration20261202120500_coordination_slot_clock';

  override up(): void {
    this.addSql(slotFunction(`perform pg_advisory_xact_lock(hashtextextended('coordination_slots:' || p_key, 0));
        now := clock_timestamp();`));
  }

  override down(): void {
    this.addSql(slotFunction(`now := clock_timestamp();
        perform pg_advisory_xact_lock(hashtextextended('coordination_slots:' || p_key, 0));`));
  }
}

// The function of Migration20261202120000_coordination, its first two steps in the order given.
function slotFunction(lockAndClock: string): string {
  return `create or replace function "coordination_acquire_slot"(p_key text, p_max int, p_lease_ms int, p_per_second int, p_token uuid) returns boolean
      language plpgsql as $$
      declare
        now timestamptz;
      begin
        ${lockAndClock}
        if (select count(*) from coordination_slots where key = p_key and not released and expires_at > now) >= p_max then
          return false;
        end if;
        if p_per_second > 0 and (select count(*) from coordination_slots where key = p_key and granted_at >= date_trunc('second', now)) >= p_per_second then
          return false;
        end if;
        insert into coordination_slots (key, token, granted_at, expires_at) values (p_key, p_token, now, now + p_lease_ms * interval '1 millisecond');
        return true;
      end $$;`;
}
