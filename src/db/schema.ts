import type { Orm } from './orm.ts';

// Held while migrating, so API and worker processes starting together apply each migration once.
const MIGRATION_LOCK = 7_780_001;

export async function migrate(orm: Orm): Promise<string[]> {
  return orm.em.fork().transactional(async (em) => {
    const trx = em.getTransactionContext();
    await em.getConnection().execute('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK], 'all', trx);
    const applied = await orm.migrator.up({ transaction: trx });
    return applied.map((m) => m.name);
  });
}
