import { defineEntity, p } from '@mikro-orm/core';
import { DeviceSchema } from './device.ts';

// A device's Baileys auth state: its creds and the ten Signal key types. Values are AES-256-GCM ciphertext under
// ENCRYPTION_KEY, bound to their row (src/workers/sessions/auth-state.ts): a stolen database yields no session.
export const SessionCredsSchema = defineEntity({
  name: 'SessionCreds',
  tableName: 'session_creds',
  properties: {
    device: () => p.oneToOne(DeviceSchema).primary().deleteRule('cascade'),
    data: p.text(),
    updatedAt: p.datetime(),
  },
});

export const SessionKeySchema = defineEntity({
  name: 'SessionKey',
  tableName: 'session_keys',
  properties: {
    device: () => p.manyToOne(DeviceSchema).primary().deleteRule('cascade'),
    type: p.string().length(32).primary(),
    keyId: p.string().length(200).primary(),
    data: p.text(),
  },
});
