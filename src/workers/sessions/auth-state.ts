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
// SignalDataSet in one transaction (a `null` value deletes), so a crash never leaves half a ratchet update. Every
// write first takes a share lock on the device row and checks the fence, so a wipe (which clears the fence under
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
  const fenced = (write: (run: ReturnType<typeof sqlOf>) => Promise<void>) =>
    em.transactional(async (tx) => {
      const run = sqlOf(tx);
      const [row] = await run('select session_fence from devices where id = ? for share', [deviceId]);
      if (!row || Number(row.session_fence) !== fence) {
        onFenced();
        throw new FencedWriteError(deviceId);
      }
      await write(run);
    });

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

  async function write(data: SignalDataSet): Promise<void> {
    await fenced(async (run) => {
      for (const [type, values] of Object.entries(data)) {
        const entries = Object.entries(values ?? {});
        const gone = entries.filter(([, value]) => value === null || value === undefined).map(([id]) => id);
        const kept = entries.filter(([, value]) => value !== null && value !== undefined);
        for (const [id] of kept) absent.delete(keyOf(type, id));
        if (gone.length) await run('delete from session_keys where device_id = ? and type = ? and key_id in (?)', [deviceId, type, gone]);
        // One statement per type: the first login uploads ~800 pre-keys at once.
        if (kept.length) {
          await run(
            `insert into session_keys (device_id, type, key_id, data)
             select ?, ?, unnest(array[?]::text[]), unnest(array[?]::text[])
             on conflict (device_id, type, key_id) do update set data = excluded.data`,
            [deviceId, type, kept.map(([id]) => id), kept.map(([id, value]) => seal(encryptionKey, encode(value), keyAad(type, id)))],
          );
        }
      }
    });
  }

  return {
    state: { creds, keys },
    async saveCreds() {
      await fenced((run) => run(
        `insert into session_creds (device_id, data, updated_at) values (?, ?, now())
         on conflict (device_id) do update set data = excluded.data, updated_at = now()`,
        [deviceId, seal(encryptionKey, encode(creds), credsAad)],
      ).then(() => {}));
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
