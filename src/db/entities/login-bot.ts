import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { DeviceSchema } from './device.ts';
import { UserSchema } from './user.ts';

// The device that answers `/login` on WhatsApp (seed 002's bot number), as an administrator designated it. At
// most one row (id 1); deleting the device ends the designation.
export const LoginBotSchema = defineEntity({
  name: 'LoginBot',
  tableName: 'login_bot',
  properties: {
    id: p.integer().primary(),
    device: () => p.manyToOne(DeviceSchema).deleteRule('cascade').unique(),
    // Messages recorded before this are never answered: designating a device does not answer its history.
    designatedAt: p.datetime(),
    designatedBy: () => p.manyToOne(UserSchema).deleteRule('set null').nullable(),
  },
});

export type LoginBot = InferEntity<typeof LoginBotSchema>;
