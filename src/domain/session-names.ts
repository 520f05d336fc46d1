import { createHash } from 'node:crypto';

// Seed 003 names a session in free text ("Business Support"); seed 004's alias, which goes into the session id
// (`user_…_device_<alias>`), is URL-safe (`^[A-Za-z0-9_.-]+$`). The alias is derived from the name, so each seed
// sees its own form.

export const SESSION_NAME_MAX = 128;
export const ALIAS_MAX = 64;
// What a name may hold: anything printable, with at least one visible character. No control characters (C0, DEL,
// C1) nor line separators: a name is shown on one line in lists, logs and webhook payloads.
export const SESSION_NAME_PATTERN = '^(?=.*\\S)[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]+$';

export function cleanSessionName(name: string): string {
  return name.trim();
}

// Letters lose their accents ("Café" → "Cafe"), every run of other characters becomes one `-` ("Business Support" →
// "Business-Support"), and a name that is already an alias is kept as it is. A name with nothing URL-safe in it
// ("客服") gets `session-` and a digest of the name, the same for the same name.
export function aliasOf(name: string): string {
  const words = cleanSessionName(name)
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .split(/[^A-Za-z0-9_.-]+/)
    .filter(Boolean);
  const joined = words.join('-');
  const alias = joined.length > ALIAS_MAX ? joined.slice(0, ALIAS_MAX).replace(/-+$/, '') : joined;
  return alias || `session-${createHash('sha256').update(cleanSessionName(name)).digest('hex').slice(0, 12)}`;
}
