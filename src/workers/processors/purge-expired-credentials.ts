import type { EntityManager } from '@mikro-orm/postgresql';
import { AuthSessionSchema } from '../../db/entities/auth-session.ts';
import { LoginTokenSchema } from '../../db/entities/login-token.ts';

// Expired or revoked sessions and spent login tokens are kept a day (for support questions), then removed.
// Safe to run twice: it only deletes what is already past its time.
const KEEP_MS = 24 * 3_600_000;

export async function purgeExpiredCredentials(em: EntityManager, now: Date): Promise<{ sessions: number; loginTokens: number }> {
  const before = new Date(now.getTime() - KEEP_MS);
  const sessions = await em.nativeDelete(AuthSessionSchema, { $or: [{ expiresAt: { $lt: before } }, { revokedAt: { $lt: before } }] });
  const loginTokens = await em.nativeDelete(LoginTokenSchema, { $or: [{ expiresAt: { $lt: before } }, { usedAt: { $lt: before } }] });
  return { sessions, loginTokens };
}
