import type { EntityManager } from '@mikro-orm/postgresql';
import { reachesDevice, type Principal } from './context.ts';
import { DeviceSchema } from '../db/entities/device.ts';
import { LoginBotSchema, type LoginBot } from '../db/entities/login-bot.ts';
import { AppError } from '../domain/errors.ts';
import { sqlOf } from '../events/event-store.ts';

// The login bot's designation (seed 002): which device answers `/login`. The reactor in src/workers/login-bot/
// reads it on every batch, so a change takes effect with the next message.
const ROW = 1;

export async function currentLoginBot(em: EntityManager): Promise<LoginBot> {
  const bot = await em.findOne(LoginBotSchema, { id: ROW }, { populate: ['device'] });
  if (!bot) throw new AppError('NOT_FOUND', 'No login bot is designated; PUT /api/whatsapp/admin/login-bot {deviceId} designates one');
  return bot;
}

// Only one of the administrator's own devices: the bot's replies, tokens included, are messages of that device's
// owner, in their history and their webhooks. Designating the same device again keeps its designation time.
export async function designateLoginBot(em: EntityManager, principal: Principal, deviceId: number, now: Date): Promise<LoginBot> {
  const device = await em.findOne(DeviceSchema, { id: deviceId }, { populate: ['user'] });
  if (!device || !reachesDevice(principal, device.id)) throw new AppError('DEVICE_NOT_FOUND', `Device ${deviceId} not found`);
  if (device.user.id !== principal.userId) {
    throw new AppError('FORBIDDEN', `Device ${deviceId} belongs to another user; the login bot must be one of your own devices`);
  }
  await sqlOf(em)(
    `insert into login_bot (id, device_id, designated_at, designated_by_id) values (?, ?, ?, ?)
     on conflict (id) do update set device_id = excluded.device_id, designated_at = excluded.designated_at, designated_by_id = excluded.designated_by_id
     where login_bot.device_id <> excluded.device_id`,
    [ROW, device.id, now, principal.userId],
  );
  return currentLoginBot(em);
}

export async function clearLoginBot(em: EntityManager): Promise<void> {
  await em.nativeDelete(LoginBotSchema, { id: ROW });
}
