import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { createApiKey } from '../auth/api-keys.ts';
import { recordAudit } from '../auth/audit.ts';
import { reachesDevice, type AuthContext, type Principal } from '../auth/context.ts';
import { DeviceSchema, type Device } from '../db/entities/device.ts';
import { UserSchema, type User } from '../db/entities/user.ts';
import { AppError } from '../domain/errors.ts';
import { streamOf } from '../domain/events.ts';
import { appendToStream, readStream, sqlOf, type RecordedEvent } from '../events/event-store.ts';
import type { Coordination } from '../coordination/coordination.ts';
import { listenFor } from '../events/event-wait.ts';
import type { LiveFeed } from '../events/live-feed.ts';
import { failStrandedMessages, LOGGED_OUT } from '../messages/fail-stranded.ts';
import { wipeAuthState } from '../workers/sessions/auth-state.ts';
import { requestPairing } from '../workers/sessions/pairing-requests.ts';
import { transaction } from '../db/transactions.ts';

// Devices (seed 004) as the API manages them: each belongs to a user; another user's device is "not found".
// The session host (worker role) follows `desired_state`; the status comes from the devices projection.

// Seed 004's session id: the user's own identifier and the alias, verbatim. Fixed at creation (a rename keeps it),
// because clients store it and the event log records it.
export function sessionIdOf(userKey: string, alias: string): string {
  return `user_${userKey}_device_${alias}`;
}

// Seed 004 names users by `userId`: the integrator's own identifier for them, which is our username. Only the
// username is looked up (never our numeric id: an integrator whose ids are numbers would otherwise reach the
// wrong user). Non-admins only reach themselves; anyone else is "not found".
export async function resolveUser(em: EntityManager, principal: Principal, userId: string | number | undefined): Promise<User> {
  const wanted = userId === undefined ? principal.username : String(userId);
  const user = await em.findOne(UserSchema, { username: wanted });
  if (!user || (principal.role !== 'admin' && user.id !== principal.userId)) throw new AppError('USER_NOT_FOUND', `User ${wanted} not found`);
  return user;
}

// An administrator creating a device for a user nobody has named before provisions that user: no password (it
// cannot log in by password until an administrator sets one), listed and managed like any other. Two first
// devices for the same new user racing: the second insert is ignored and both find the one row.
async function resolveOrProvisionUser(ctx: AuthContext, principal: Principal, userId: string | number | undefined): Promise<User> {
  if (userId !== undefined && principal.role === 'admin') {
    const [inserted] = await sqlOf(ctx.em)(
      `insert into users (username, password_hash, role, created_at) values (?, null, 'user', ?)
       on conflict (username) do nothing returning id`,
      [String(userId), ctx.clock()],
    );
    if (inserted) {
      const created = { userId: Number(inserted.id), username: String(userId), role: 'user', provisioned: true };
      await recordAudit(ctx.em, streamOf.account(created.username), [{ type: 'user.created', data: created }], ctx.audit);
    }
  }
  return resolveUser(ctx.em, principal, userId);
}

// The devices a credential lists, as a query condition: all of its user's, or only those a key is bound to.
export const reachableDevices = (principal: Principal) => (principal.deviceIds === undefined ? {} : { id: { $in: [...principal.deviceIds] } });

// What a send needs of its device: read in plain SQL by the send routes, the hottest ones (the ORM's query building
// and hydration cost several times the query).
export interface SendRouteDevice {
  id: number;
  sessionId: string;
  status: Device['status'];
  user: { id: number };
}

type DeviceNamed = { id: number } | { sessionId: string };

const reaches = (principal: Principal, device: Pick<SendRouteDevice, 'id' | 'user'>) =>
  (principal.role === 'admin' || device.user.id === principal.userId) && reachesDevice(principal, device.id);

// Seed 004 names the sending device by its session id; a device key can only name its own device. Another user's
// device answers exactly as a missing one: naming its device's id would tell that it exists.
function reached<D extends Pick<SendRouteDevice, 'id' | 'user'>>(principal: Principal, named: DeviceNamed, device: D | null | undefined): D {
  if (device && reaches(principal, device)) return device;
  throw new AppError('DEVICE_NOT_FOUND', 'sessionId' in named ? `No device with session id ${named.sessionId}` : `Device ${named.id} not found`);
}

export async function findDevice(em: EntityManager, principal: Principal, id: number): Promise<Device> {
  return reached(principal, { id }, await em.findOne(DeviceSchema, { id }, { populate: ['user'] }));
}

export async function findDeviceBySession(em: EntityManager, principal: Principal, sessionId: string): Promise<Device> {
  return reached(principal, { sessionId }, await em.findOne(DeviceSchema, { sessionId }, { populate: ['user'] }));
}

export async function findSendingDevice(em: EntityManager, principal: Principal, named: DeviceNamed): Promise<SendRouteDevice> {
  const [column, value] = 'sessionId' in named ? ['session_id', named.sessionId] : ['id', named.id];
  const [row] = await sqlOf(em)(`select id, session_id, status, user_id from devices where ${column} = ?`, [value]);
  const device = row && { id: Number(row.id), sessionId: String(row.session_id), status: row.status as Device['status'], user: { id: Number(row.user_id) } };
  return reached(principal, named, device);
}

// Seed 003's `/api/send` picks the caller's session by its own phone number.
export async function findDeviceByPhone(em: EntityManager, principal: Principal, phoneDigits: string): Promise<Device> {
  const device = await em.findOne(DeviceSchema, { phoneNumber: `+${phoneDigits}`, ...(principal.role === 'admin' ? {} : { user: principal.userId }) }, { populate: ['user'] });
  if (!device) throw new AppError('DEVICE_NOT_FOUND', `None of your sessions has the number +${phoneDigits}`);
  return findDevice(em, principal, device.id);
}

// One transaction: a refused device (its alias taken, say) provisions no user and leaves no key behind.
export async function createDevice(
  ctx: AuthContext,
  principal: Principal,
  input: { userId?: string | number; alias: string; name?: string; metadata?: Record<string, unknown> },
): Promise<{ device: Device; apiKey: string }> {
  // A device it created would lie outside a bound token's reach at once.
  if (principal.deviceIds !== undefined) throw new AppError('FORBIDDEN', 'A token bound to devices cannot create devices');
  return transaction(ctx.em, async (em) => {
    const tx = { ...ctx, em: em as EntityManager };
    const user = await resolveOrProvisionUser(tx, principal, input.userId);
    const device = em.create(DeviceSchema, {
      user,
      alias: input.alias,
      name: input.name ?? null,
      sessionId: sessionIdOf(user.username, input.alias),
      metadata: input.metadata ?? {},
      createdAt: ctx.clock(),
    });
    try {
      await em.flush();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) {
        throw new AppError('DEVICE_ALREADY_EXISTS', `A device with alias "${input.alias}" already exists`);
      }
      throw err;
    }
    const { secret } = await createApiKey(tx, user, { kind: 'device', deviceId: device.id, name: `device ${device.alias}` });
    return { device, apiKey: secret };
  });
}

// Its device key goes with it (the key's row cascades), in every process's credential cache too.
export async function deleteDevice(ctx: Pick<AuthContext, 'em' | 'credentials'>, device: Device): Promise<void> {
  await ctx.em.remove(device).flush();
  await ctx.credentials?.announce();
}

export async function setDesiredState(em: EntityManager, device: Device, state: 'running' | 'stopped'): Promise<void> {
  await sqlOf(em)('update devices set desired_state = ? where id = ?', [state, device.id]);
}

// Logging out forgets the WhatsApp identity: the stored creds and keys go, and the device shows `logged_out`.
export async function logoutDevice(em: EntityManager, device: Device): Promise<void> {
  await setDesiredState(em, device, 'stopped');
  await wipeAuthState(em, device.id);
  await appendToStream(em, `device-${device.id}`, [{ event: { type: 'device.logged-out', data: { reason: 'requested' } } }], {
    expectedVersion: 'any',
    metadata: { tenantId: device.user.id, deviceId: device.id, sessionId: device.sessionId },
  });
  await failStrandedMessages(em, { now: new Date(), maxWaitMs: 0, deviceId: device.id, reason: LOGGED_OUT });
}

// The events that change what a device shows: a QR, or its session connected, closed or stopped.
export const SCREEN_CHANGES = ['device.qr-issued', 'device.connected', 'device.disconnected', 'device.logged-out', 'device.failed'];

// What the device shows now (`qr`: the last one issued, unless the session connected, closed or stopped since) and
// the version its stream had reached, which tells a later change from one the live feed has yet to deliver.
export async function screenOf(em: EntityManager, device: Pick<Device, 'id'>): Promise<{ qr?: RecordedEvent; version: number }> {
  const events = await readStream(em, `device-${device.id}`);
  const last = events.filter((e) => SCREEN_CHANGES.includes(e.type)).at(-1);
  return { ...(last?.type === 'device.qr-issued' ? { qr: last } : {}), version: events.at(-1)?.streamVersion ?? 0 };
}

export async function currentQrEvent(em: EntityManager, device: Pick<Device, 'id'>): Promise<RecordedEvent | undefined> {
  return (await screenOf(em, device)).qr;
}

export async function currentQr(em: EntityManager, device: Device): Promise<string | undefined> {
  const event = await currentQrEvent(em, device);
  return event && String(event.data.qr);
}

export interface PairingDeps {
  em: EntityManager;
  coordination: Coordination;
  liveFeed: LiveFeed;
  timeoutMs: number;
}

// Linking by phone number instead of QR: the worker holding the session asks WhatsApp for an 8-character code,
// which the user types into the phone (Linked devices → Link with phone number). The code comes back as a
// `device.pairing-code-issued` event, which this waits for (and which SSE, WebSocket and webhooks carry too).
export async function requestPairingCode(deps: PairingDeps, device: Device, phoneDigits: string): Promise<string> {
  if (device.status === 'connected') throw new AppError('DEVICE_ALREADY_CONNECTED', 'Device is already connected; log it out to link another number');
  const wait = await listenFor(deps.liveFeed, { tenantId: device.user.id, deviceId: device.id, types: ['device.pairing-code-issued'] });
  try {
    await setDesiredState(deps.em, device, 'running');
    await requestPairing(deps.coordination, device.id, phoneDigits, deps.timeoutMs);
    const code = await wait.next((event) => String(event.data.code), deps.timeoutMs);
    if (code === undefined) {
      throw new AppError('SERVICE_UNAVAILABLE', 'No worker produced a pairing code in time: is a worker running and reaching WhatsApp?');
    }
    return code;
  } finally {
    wait.close();
  }
}
