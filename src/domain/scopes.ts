import { AppError } from './errors.ts';

// What an API token may do. Each route declares the one scope it needs (or none, for routes that only say who
// you are); a credential holds the scopes its user's role allows, narrowed by the token's own list.
export const SCOPES = ['read', 'send', 'devices', 'webhooks', 'account', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  read: 'Read devices, messages, chats, contacts, groups, profiles, campaigns, statistics and the event feeds',
  send: 'Send, react to, edit, delete and resend messages; bulk campaigns and their controls; presence',
  devices: 'Create, rename and delete devices and sessions; link them (QR, pairing code), start, stop, log out, sync',
  webhooks: 'Manage webhook endpoints, their deliveries, redelivery, replay and per-device webhook settings',
  account: 'Manage your own API tokens and account (name, password)',
  admin: 'Administration: users, the login bot, the queue dashboard (administrators only)',
};

// Every scope a user of this role can hold: `admin` is for administrators only.
export function scopesOfRole(role: 'admin' | 'user'): readonly Scope[] {
  return role === 'admin' ? SCOPES : SCOPES.filter((scope) => scope !== 'admin');
}

// The scopes a credential holds: its own list (undefined: all) within what its user's role allows, so a token
// of a demoted administrator loses `admin` at once.
export function heldScopes(role: 'admin' | 'user', granted: readonly Scope[] | undefined): readonly Scope[] {
  const allowed = scopesOfRole(role);
  return granted === undefined ? allowed : allowed.filter((scope) => granted.includes(scope));
}

// A new token's scopes: those asked for, each held by the creating credential itself (a token cannot mint a
// stronger one). None asked: the creator's own, or undefined (all the owner's, now and later) for a creator that
// holds no narrowed list.
export function grantedScopes(
  role: 'admin' | 'user',
  creatorScopes: readonly Scope[] | undefined,
  requested: readonly Scope[] | undefined,
): readonly Scope[] | undefined {
  const held = heldScopes(role, creatorScopes);
  if (requested === undefined) return creatorScopes === undefined ? undefined : held;
  const missing = requested.find((scope) => !held.includes(scope));
  if (missing) throw new AppError('FORBIDDEN', `You cannot grant the "${missing}" scope: your credential does not hold it`);
  return requested;
}
