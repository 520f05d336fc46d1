import { initAuthCreds, type AuthenticationState, type SignalDataTypeMap } from '@whiskeysockets/baileys';

// Auth state kept in memory, for simulator tests that drive Baileys directly (the platform keeps it in
// PostgreSQL, encrypted).
export function memoryAuth(): AuthenticationState {
  const store = new Map<string, unknown>();
  return {
    creds: initAuthCreds(),
    keys: {
      get: async (type, ids) =>
        Object.fromEntries(ids.flatMap((id) => (store.has(`${type}:${id}`) ? [[id, store.get(`${type}:${id}`)]] : []))) as {
          [id: string]: SignalDataTypeMap[typeof type];
        },
      set: async (data) => {
        for (const [type, values] of Object.entries(data)) {
          for (const [id, value] of Object.entries(values ?? {})) {
            if (value === null) store.delete(`${type}:${id}`);
            else store.set(`${type}:${id}`, value);
          }
        }
      },
    },
  };
}
