import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config.ts';

export type Clock = () => Date;

// What the auth services need from their caller: a request-scoped EntityManager, settings and the time.
export interface AuthContext {
  em: EntityManager;
  config: Pick<Config, 'jwtSecret' | 'jwtTtlMs' | 'loginTokenTtlMs' | 'adminToken' | 'adminUsername' | 'apiToken'>;
  clock: Clock;
}

export type UserRole = 'admin' | 'user';

// Who is calling, and through which credential.
export interface Principal {
  userId: number;
  username: string;
  role: UserRole;
  via: 'jwt' | 'api-token' | 'device-key' | 'admin-token' | 'basic';
  credentialId?: number;
  sessionId?: string;
  expiresAt?: Date;
  deviceId?: number;
}
