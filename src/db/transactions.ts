import type { EntityManager } from '@mikro-orm/postgresql';
import { isRetryable } from './database-errors.ts';

const ATTEMPTS = 4;

// A transaction that runs again when PostgreSQL aborts it as a deadlock victim or a serialization failure
// (40P01, 40001): it did nothing, and running it again is what PostgreSQL asks for. Only the outermost
// transaction retries; one nested in another fails with it, and the outer one runs again.
export async function transaction<T>(em: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  const outermost = !em.isInTransaction();
  for (let attempt = 1; ; attempt++) {
    try {
      return await em.transactional((tx) => work(tx as EntityManager));
    } catch (err) {
      if (!outermost || attempt >= ATTEMPTS || !isRetryable(err)) throw err;
      // Jittered, so the two sides of a deadlock do not meet again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}
