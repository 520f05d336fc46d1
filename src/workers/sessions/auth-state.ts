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
import { open, seal } from './secret-box.ts';

export interface StoredAuthState {
  state: AuthenticationState;
  // Writes the creds as they are now (call on every `creds.update` and before closing).
  saveCreds(): Promise<void>;
}

const encode = (value: unknown) => JSON.stringify(value, BufferJSON.replacer);
const decode = (text: string) => JSON.parse(text, BufferJSON.reviver) as unknown;

// A device's Baileys auth state in PostgreSQL, every value sealed under ENCRYPTION_KEY. `keys.set` writes a whole
// SignalDataSet in one transaction (a `null` value deletes), so a crash never leaves half a ratchet update.
// Wrap `state.keys` with makeCacheableSignalKeyStore when handing it to Baileys.
export async function loadAuthState(em: EntityManager, deviceId: number, encryptionKey: Buffer): Promise<StoredAuthState> {
  const sql = sqlOf(em);
  const credsAad = `device:${deviceId}:creds`;
  const keyAad = (type: string, id: string) => `device:${deviceId}:${type}:${id}`;

  const [row] = await sql('select data from session_creds where device_id = ?', [deviceId]);
  const creds = row ? (decode(open(encryptionKey, String(row.data), credsAad)) as AuthenticationCreds) : initAuthCreds();

  const keys: AuthenticationState['keys'] = {
    async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const found: { [id: string]: SignalDataTypeMap[T] } = {};
      if (!ids.length) return found;
      for (const r of await sql('select key_id, data from session_keys where device_id = ? and type = ? and key_id in (?)', [deviceId, type, ids])) {
        const id = String(r.key_id);
        let value = decode(open(encryptionKey, String(r.data), keyAad(type, id)));
        if (type === 'app-state-sync-key') value = proto.Message.AppStateSyncKeyData.fromObject(value as object);
        found[id] = value as SignalDataTypeMap[T];
      }
      return found;
    },
    async set(data: SignalDataSet) {
      await em.transactional(async (tx) => {
        const run = sqlOf(tx);
        for (const [type, values] of Object.entries(data)) {
          for (const [id, value] of Object.entries(values ?? {})) {
            if (value === null || value === undefined) {
              await run('delete from session_keys where device_id = ? and type = ? and key_id = ?', [deviceId, type, id]);
            } else {
              await run(
                `insert into session_keys (device_id, type, key_id, data) values (?, ?, ?, ?)
                 on conflict (device_id, type, key_id) do update set data = excluded.data`,
                [deviceId, type, id, seal(encryptionKey, encode(value), keyAad(type, id))],
              );
            }
          }
        }
      });
    },
  };

  return {
    state: { creds, keys },
    async saveCreds() {
      await sql(
        `insert into session_creds (device_id, data, updated_at) values (?, ?, now())
         on conflict (device_id) do update set data = excluded.data, updated_at = now()`,
        [deviceId, seal(encryptionKey, encode(creds), credsAad)],
      );
    },
  };
}

// Logged out (401/403): the stored identity is worthless and must not be tried again.
export async function wipeAuthState(em: EntityManager, deviceId: number): Promise<void> {
  await em.transactional(async (tx) => {
    const run = sqlOf(tx);
    await run('delete from session_keys where device_id = ?', [deviceId]);
    await run('delete from session_creds where device_id = ?', [deviceId]);
  });
}
