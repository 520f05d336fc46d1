import { DEFAULT_CACHE_TTLS, type PossiblyExtendedCacheStore } from '@whiskeysockets/baileys';
import type { Coordination } from '../../coordination/coordination.ts';
import type { Logger } from '../../logger.ts';

// Baileys' `userDevicesCache` (each contact's devices, by user) in the coordination store instead of the socket's
// memory, so the session's next holder finds what this one learnt. It matters beyond a usync round trip: on a miss
// Baileys (rc14) asks usync again and then forces a fresh Signal session with every account the answer maps to a
// LID (`assertSessions(lids, true)`): a pre-key bundle fetch and one of the contact's one-time pre-keys, and a new
// session the contact's phone sees, for every chat of a session that moved to another worker.
//
// Entries live as long as Baileys' own (5 minutes from the last fetch), so a session that never moves behaves as it
// always did; Baileys' device notifications update and drop them here as they did in memory. Baileys reads the
// recipient's and its own lists on every send: the holder keeps what it read or wrote in memory for up to
// LOCAL_MS (only the lease's holder writes a device's lists, so its memory is as current as the store), and a new
// holder starts with nothing in memory. They are facts about
// the contacts, not ratchet state, so they need no fence: a late write by a holder that lost its lease is at worst
// an old list, gone within the TTL. An unreachable store is a miss (Baileys fetches the list, as without this).
// Rebuilding the list from the `device-list` auth keys is no substitute: those keep device numbers without the
// server (PN or LID) each was listed under.

const TTL_MS = DEFAULT_CACHE_TTLS.USER_DEVICES * 1000;
const LOCAL_MS = 60_000;
const LOCAL_ENTRIES = 5_000;

export function sharedDeviceLists(coordination: Coordination, deviceId: number, logger: Logger): PossiblyExtendedCacheStore {
  const keyOf = (user: string) => `device-list:${deviceId}:${user}`;
  const failed = (action: string) => (err: unknown) => {
    logger.warn({ err, deviceId }, `${action} a device list in the coordination store failed`);
    return undefined;
  };
  // JSON as stored (Baileys may change what it is handed), and when to read the store again. Misses are not kept:
  // Baileys fetches the list and sets it.
  const local = new Map<string, { stored: string; until: number }>();
  const keep = (user: string, stored: string) => {
    local.delete(user);
    // Maps iterate in insertion order: the first key is the oldest entry.
    if (local.size >= LOCAL_ENTRIES) local.delete(local.keys().next().value!);
    local.set(user, { stored, until: performance.now() + LOCAL_MS });
  };
  const get = async <T>(user: string): Promise<T | undefined> => {
    const held = local.get(user);
    let stored = held && held.until > performance.now() ? held.stored : undefined;
    if (stored === undefined) {
      stored = await coordination.get(keyOf(user)).catch(failed('reading'));
      if (stored !== undefined) keep(user, stored);
    }
    return stored === undefined ? undefined : (JSON.parse(stored) as T);
  };
  const set = async <T>(user: string, devices: T): Promise<void> => {
    const stored = JSON.stringify(devices);
    keep(user, stored);
    await coordination.set(keyOf(user), stored, TTL_MS).catch(failed('writing'));
  };
  const del = async (user: string): Promise<void> => {
    local.delete(user);
    await coordination.delete(keyOf(user)).catch(failed('deleting'));
  };
  return {
    // Baileys awaits every read, and takes undefined as a miss (its type says Promise<T> only).
    get: get as PossiblyExtendedCacheStore['get'],
    set,
    del,
    mget: async <T>(users: string[]) => Object.fromEntries(await Promise.all(users.map(async (user) => [user, await get<T>(user)] as const))),
    mset: async <T>(entries: { key: string; value: T }[]) => {
      await Promise.all(entries.map(({ key, value }) => set(key, value)));
    },
    // Baileys never flushes this cache (only its key store's); entries lapse with their TTL.
    flushAll: () => {},
  };
}
