import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.ts';

export const DEVICE_STATUSES = ['pending', 'connecting', 'connected', 'disconnected', 'logged_out', 'error'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

// A WhatsApp number linked (or being linked) to the platform: one Baileys session (seed 004's device).
export const DeviceSchema = defineEntity({
  name: 'Device',
  tableName: 'devices',
  uniques: [{ properties: ['user', 'alias'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
    alias: p.string().length(64),
    // Seed 003's session name, free text ("Business Support"); the alias is its URL-safe form.
    name: p.string().length(128).nullable(),
    sessionId: p.string().length(200).unique(),
    status: p.enum(DEVICE_STATUSES).default('pending'),
    // Whether a worker should hold a WhatsApp connection for it: login sets `running`, logout and a 440 `stopped`.
    desiredState: p.enum(['running', 'stopped'] as const).default('running'),
    phoneNumber: p.string().length(32).nullable(),
    lid: p.string().length(64).nullable(),
    // The fencing token of the session lease whose holder may write this device's auth state; a wipe clears it,
    // so late writes from a socket that was logged out (or lost its lease) are refused.
    sessionFence: p.bigint().nullable(),
    metadata: p.json<Record<string, unknown>>().default('{}'),
    createdAt: p.datetime(),
    connectedAt: p.datetime().nullable(),
  },
});

export type Device = InferEntity<typeof DeviceSchema>;
