import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config.ts';
import { ApiKeySchema } from '../db/entities/api-key.ts';
import { UserSchema, type User } from '../db/entities/user.ts';
import { BOOTSTRAP_PUBLIC_ID } from './api-keys.ts';
import { hashPassword } from './passwords.ts';
import { sha256Hex } from './secrets.ts';

// First start creates the admin from ADMIN_USERNAME/ADMIN_PASSWORD; API_TOKEN, when set, is an API token of
// that admin (kept in step with the environment: changing or unsetting it takes effect at the next start).
export async function bootstrapAuth(
  em: EntityManager,
  config: Pick<Config, 'adminUsername' | 'adminPassword' | 'apiToken'>,
  now: Date,
): Promise<User> {
  let admin = await em.findOne(UserSchema, { username: config.adminUsername });
  if (!admin) {
    // API and worker may start together: whichever inserts second keeps the first one's row.
    await em.upsert(
      UserSchema,
      { username: config.adminUsername, passwordHash: await hashPassword(config.adminPassword), role: 'admin', createdAt: now },
      { onConflictFields: ['username'], onConflictAction: 'ignore' },
    );
    admin = await em.findOneOrFail(UserSchema, { username: config.adminUsername });
  }
  if (config.apiToken) {
    await em.upsert(
      ApiKeySchema,
      {
        user: admin,
        kind: 'api-token',
        publicId: BOOTSTRAP_PUBLIC_ID,
        secretHash: sha256Hex(config.apiToken),
        name: 'API_TOKEN (environment)',
        createdAt: now,
        revokedAt: null,
      },
      { onConflictFields: ['publicId'], onConflictMergeFields: ['user', 'secretHash', 'revokedAt'] },
    );
  } else {
    await em.nativeUpdate(ApiKeySchema, { publicId: BOOTSTRAP_PUBLIC_ID, revokedAt: null }, { revokedAt: now });
  }
  return admin;
}
