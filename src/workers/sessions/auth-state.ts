import type { EntityManager } from '@mikro-orm/postgresql';
import {
  BufferJSON,
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
} from '@whiskeysockets/baileys';
import { sqlOf } from '../../events/event-store.ts';
import { open, seal } from '../../secret-box.ts';

export interface StoredAuthState {
  state: AuthenticationState;
  // Writes the creds as they are now (call on every `creds.update` and before closing).
  saveCreds(): Promise<void>;
}

// A write by a holder whose fencing token is no longer the device's: it lost its lease, or the session was
// logged out (and wiped) under it.
export class FencedWriteError extends Error {
  constructor(deviceId: number) {
    super(`auth state of device ${deviceId} is fenced off for this holder`);
    this.name = 'FencedWriteError';
  }
}

const encode = (value: unknown) => JSON.stringify(value, BufferJSON.replacer);
const decode = (text: string) => JSON.parse(text, BufferJSON.reviver) as unknown;

// Makes `token` the device's fence unless a holder with a newer token got there first (then false: this holder
// must give the session up). Tokens come from the lease, which grows them on every acquisition.
export async function claimFence(em: EntityManager, deviceId: number, token: number): Promise<boolean> {
  const claimed = await sqlOf(em)(
    'update devices set session_fence = ? where id = ? and (session_fence is null or session_fence < ?) returning id',
    [token, deviceId, token],
  );
  return claimed.length === 1;
}

// A device's Baileys auth state in PostgreSQL, every value sealed under ENCRYPTION_KEY. `keys.set` writes a whole
// SignalDataSet in one statement (a `null` value deletes), so a crash never leaves half a ratchet update. Every
// write holds a share lock on the device row while it checks the fence, so a wipe (which clears the fence under
// an exclusive lock) waits for writes in flight and refuses all later ones.
// Wrap `state.keys` with makeCacheableSignalKeyStore when handing it to Baileys.
export async function loadAuthState(
  em: EntityManager,
  deviceId: number,
  encryptionKey: Buffer,
  fence: number,
  onFenced: () => void = () => {},
): Promise<StoredAuthState> {
  const sql = sqlOf(em);
  const credsAad = `device:${deviceId}:creds`;
  const keyAad = (type: string, id: string) => `device:${deviceId}:${type}:${id}`;
  // One statement per write, atomic by itself: `fence` holds a share lock on the device row while its fence is this
  // holder's, and the writes join it, so they happen only then. A wipe (which clears the fence under an exclusive
  // lock) waits for a write in flight and refuses every later one.
  const FENCE = 'select 1 from devices where id = ? and session_fence = ? for share';
  const fenced = async (statement: string, params: unknown[]) => {
    const [row] = await sql(statement, [deviceId, fence, ...params]);
    if (!row?.held) {
      onFenced();
      throw new FencedWriteError(deviceId);
    }
  };

  const [row] = await sql('select data from session_creds where device_id = ?', [deviceId]);
  const creds = row ? (decode(open(encryptionKey, String(row.data), credsAad)) as AuthenticationCreds) : initAuthCreds();

  // Keys known to be absent. Baileys' cacheable store keeps what it found but asks again, on every send, for what it
  // did not (a contact's `tctoken`, say); only this holder writes the keys (the fence sees to that), so an absence it
  // saw stays true until it writes that key itself. An absence is only recorded when no write ran at any time during
  // the read: one not yet committed when the read looked would otherwise be recorded absent.
  const absent = new Set<string>();
  const keyOf = (type: string, id: string) => `${type}\u0000${id}`;
  let writesStarted = 0;
  let writesInFlight = 0;

  const keys: AuthenticationState['keys'] = {
    async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const found: { [id: string]: SignalDataTypeMap[T] } = {};
      const wanted = ids.filter((id) => !absent.has(keyOf(type, id)));
      if (!wanted.length) return found;
      const quiet = writesInFlight === 0;
      const startedBefore = writesStarted;
      const rows = await sql('select key_id, data from session_keys where device_id = ? and type = ? and key_id in (?)', [deviceId, type, wanted]);
      if (quiet && writesStarted === startedBefore) {
        const present = new Set(rows.map((r) => String(r.key_id)));
        for (const id of wanted) if (!present.has(id)) absent.add(keyOf(type, id));
      }
      for (const r of rows) {
        const id = String(r.key_id);
        let value = decode(open(encryptionKey, String(r.data), keyAad(type, id)));
        if (type === 'app-state-sync-key') value = proto.Message.AppStateSyncKeyData.fromObject(value as object);
        found[id] = value as SignalDataTypeMap[T];
      }
      return found;
    },
    async set(data: SignalDataSet) {
      writesStarted += 1;
      writesInFlight += 1;
      try {
        await write(data);
      } finally {
        writesInFlight -= 1;
      }
    },
  };

  // The whole set (a `null` deletes): a crash never leaves half a ratchet update. The first login uploads ~800 pre-keys.
  async function write(data: SignalDataSet): Promise<void> {
    const rows = Object.entries(data).flatMap(([type, values]) =>
      Object.entries(values ?? {}).map(([id, value]) => {
        const kept = value !== null && value !== undefined;
        if (kept) absent.delete(keyOf(type, id));
        return { type, key_id: id, data: kept ? seal(encryptionKey, encode(value), keyAad(type, id)) : null };
      }),
    );
    if (!rows.length) return;
    await fenced(
      `with fence as (${FENCE}),
       r as (select * from jsonb_to_recordset(?::jsonb) as r(type text, key_id text, data text)),
       deleted as (delete from session_keys k using r, fence where k.device_id = ? and k.type = r.type and k.key_id = r.key_id and r.data is null),
       written as (insert into session_keys (device_id, type, key_id, data) select ?, r.type, r.key_id, r.data from r, fence where r.data is not null
                   on conflict (device_id, type, key_id) do update set data = excluded.data)
       select exists (select 1 from fence) as held`,
      [JSON.stringify(rows), deviceId, deviceId],
    );
  }

  return {
    state: { creds, keys },
    async saveCreds() {
      await fenced(
        `with fence as (${FENCE}),
         written as (insert into session_creds (device_id, data, updated_at) select ?, ?, now() from fence
                     on conflict (device_id) do update set data = excluded.data, updated_at = now())
         select exists (select 1 from fence) as held`,
        [deviceId, seal(encryptionKey, encode(creds), credsAad)],
      );
    },
  };
}

// Logged out (401/403 or on request): the stored identity is worthless and must not be tried again. Clearing the
// fence first waits for writes in flight and refuses the socket's late ones (Baileys stores the LID mapping in the
// background after login).
export async function wipeAuthState(em: EntityManager, deviceId: number): Promise<void> {
  await em.transactional(async (tx) => {
    const run = sqlOf(tx);
    await run('update devices set session_fence = null where id = ?', [deviceId]);
    await run('delete from session_keys where device_id = ?', [deviceId]);
    await run('delete from session_creds where device_id = ?', [deviceId]);
  });
}
