import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config.ts';
import type { AuditSource } from './audit.ts';
import type { Scope } from '../domain/scopes.ts';
import type { InvalidatedCache } from '../coordination/cache-invalidation.ts';

export type Clock = () => Date;

// What the auth services need from their caller: a request-scoped EntityManager, settings and the time.
export interface AuthContext {
  em: EntityManager;
  config: Pick<Config, 'jwtSecret' | 'jwtTtlMs' | 'loginTokenTtlMs' | 'adminToken' | 'adminUsername' | 'apiToken' | 'loginFailureLimit'>;
  clock: Clock;
  // Who is acting, for the audit trail (absent outside a request, as in the login bot's reactor).
  audit?: AuditSource;
  // Credentials already checked, by what was presented (absent: every request reads them). Whatever revokes or
  // changes a credential or its user announces it here once committed.
  credentials?: InvalidatedCache<Principal>;
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
  // A device key's own device.
  deviceId?: number;
  // Set for scoped API tokens: the scopes granted (within the role's; absent: all the role allows).
  scopes?: readonly Scope[];
  // Set for device keys and bound API tokens: the only devices this credential sees (absent: all of its user's).
  deviceIds?: readonly number[];
}

// Whether a credential reaches a device (tenancy is checked apart): others are answered as missing ones.
export const reachesDevice = (principal: Principal, deviceId: number | null | undefined): boolean =>
  principal.deviceIds === undefined || (deviceId != null && principal.deviceIds.includes(deviceId));
