import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { DomainEvent } from '../../src/domain/events.ts';
import { appendToStream, sqlOf } from '../../src/events/event-store.ts';
import { ADMIN_TOKEN, loginAs, type TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';

// Two users with one of everything, made as users make them (the API) and, where WhatsApp would be needed, as the
// session host records it (the event log). Every text a tenant owns holds its marker, so a leak is a string search.

export type CredentialKind = 'jwt' | 'api-token' | 'device-key';
export const CREDENTIAL_KINDS: CredentialKind[] = ['jwt', 'api-token', 'device-key'];

export interface Tenant {
  id: number;
  username: string;
  password: string;
  // Unique to this tenant: any of them in another user's answer is a leak.
  marker: string;
  credentials: Record<CredentialKind, Record<string, string>>;
  // Strings only this tenant's data holds: tokens, keys, webhook secrets, texts, contact names, metadata, event ids.
  owned: string[];
  devices: { id: number; sessionId: string; alias: string; phone: string }[];
  apiTokenIds: number[];
  // Sent and received, device by device (index i belongs to devices[i % 2]).
  messageIds: string[];
  campaignIds: string[];
  webhookIds: string[];
  deliveryIds: string[];
  // The chats of the tenant's devices (index i belongs to devices[i]).
  jids: string[];
  groupJids: string[];
}

export const headersOf = (kind: CredentialKind, secret: string): Record<string, string> =>
  kind === 'jwt' ? { authorization: `Bearer ${secret}` } : kind === 'api-token' ? { 'x-api-token': secret } : { 'x-device-api-key': secret };

// A new login for a user, by a one-time login token an administrator issues: password logins of the account may
// be slowed down by the failed ones the suites make on purpose.
export async function freshLogin(platform: TestPlatform, userId: number): Promise<string> {
  const issued = await platform.request({ method: 'POST', url: `/api/whatsapp/admin/users/${userId}/login-tokens`, headers: { 'x-admin-token': ADMIN_TOKEN }, payload: {} });
  assert.equal(issued.statusCode, 201, issued.body);
  const login = await platform.request({ method: 'POST', url: '/api/auth/login', payload: { token: issued.json().data.token } });
  assert.equal(login.statusCode, 200, login.body);
  return login.json().data.token;
}

const ok = async (res: Promise<{ statusCode: number; body: string; json(): any }>, status: number) => {
  const answer = await res;
  assert.equal(answer.statusCode, status, answer.body);
  return answer.json();
};

// A number of the tenant's own (digits only), distinct per tenant and per use.
const numberOf = (seed: number, i: number) => `62811${String(seed).padStart(3, '0')}${String(i).padStart(4, '0')}`;

export async function seedTenant(platform: TestPlatform, name: string, seed: number, receiverUrl: string): Promise<Tenant> {
  const marker = `${name}Mk${randomBytes(6).toString('hex')}`;
  const username = `${name}-${randomBytes(3).toString('hex')}`;
  const password = `pw-${marker}`;
  const admin = { 'x-admin-token': ADMIN_TOKEN };
  const user = await ok(platform.request({ method: 'POST', url: '/api/whatsapp/admin/users', headers: admin, payload: { username, password } }), 201);
  const jwt = await loginAs(platform, username, password);
  const auth = { authorization: `Bearer ${jwt}` };
  const request = (method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: object) => platform.request({ method, url, headers: auth, ...(payload ? { payload } : {}) });

  await ok(request('PATCH', '/api/auth/me', { phoneNumber: `+${numberOf(seed, 9999)}` }), 200);
  const token = (await ok(request('POST', '/api/auth/api-tokens', { name: `ci-${marker}` }), 201)).data;

  const tenant: Tenant = {
    id: user.data.id,
    username,
    password,
    marker,
    credentials: { jwt: headersOf('jwt', jwt), 'api-token': headersOf('api-token', token.token), 'device-key': {} },
    owned: [jwt, token.token, password],
    devices: [],
    apiTokenIds: [token.id],
    messageIds: [],
    campaignIds: [],
    webhookIds: [],
    deliveryIds: [],
    jids: [],
    groupJids: [],
  };

  const hook = (await ok(request('POST', '/api/whatsapp/webhooks', { url: `${receiverUrl}?${marker}`, events: ['*'], headers: { 'x-receiver-auth': `hdr-${marker}` }, description: `hook-${marker}` }), 201)).data;
  tenant.webhookIds.push(hook.id);
  tenant.owned.push(hook.secret, `hdr-${marker}`);

  for (const i of [0, 1]) {
    const alias = `${name}-phone-${i}`;
    const created = (await ok(request('POST', '/api/whatsapp/devices', { alias, metadata: { crm: `crm-${marker}` } }), 201)).device;
    const phone = numberOf(seed, 100 + i);
    const device = { id: created.id as number, sessionId: created.sessionId as string, alias, phone: `+${phone}` };
    tenant.devices.push(device);
    tenant.owned.push(created.apiKey, `crm-${marker}`);
    if (i === 0) tenant.credentials['device-key'] = headersOf('device-key', created.apiKey);

    const emit = (event: DomainEvent) =>
      appendToStream(platform.app.orm.em.fork(), `test-${randomUUID()}`, [{ event }], {
        expectedVersion: 'no-stream',
        metadata: { tenantId: tenant.id, deviceId: device.id, sessionId: device.sessionId },
      });
    await emit({ type: 'device.connected', data: { phoneNumber: phone, name: `name-${marker}` } });
    await emit({ type: 'device.disconnected', data: { reason: 'test' } });
    const chat = `${numberOf(seed, i)}@s.whatsapp.net`;
    tenant.jids.push(chat);
    tenant.groupJids.push(`${numberOf(seed, i)}-1700000000@g.us`);
    const received = `msg_${randomBytes(16).toString('base64url').slice(0, 22)}`;
    await emit({
      type: 'message.received',
      data: { messageId: received, waMessageId: `WA${marker}${i}`, chatJid: chat, from: chat, pushName: `push-${marker}`, messageType: 'text', text: `received-${marker}-${i}`, timestamp: 1_795_000_000 },
    });
    const sent = (await ok(request('POST', '/api/whatsapp/send', { sessionId: device.sessionId, phoneNumber: numberOf(seed, i), message: `sent-${marker}-${i}` }), 202)).data;
    tenant.messageIds.push(received, sent.messageId);
    tenant.owned.push(`received-${marker}-${i}`, `sent-${marker}-${i}`, `push-${marker}`);
    const campaign = (await ok(request('POST', '/api/whatsapp/send/bulk', { sessionId: device.sessionId, name: `campaign-${marker}`, message: 'Hi {name}', recipients: [{ phoneNumber: numberOf(seed, 50 + i), variables: { name: `var-${marker}` } }] }), 202)).data;
    tenant.campaignIds.push(campaign.campaignId);
    // No WhatsApp here: the device is stopped once it has sent, so nothing but these tests writes to it.
    await ok(request('POST', `/api/whatsapp/devices/${created.id}/logout`), 200);
  }

  const deliveries = await until(async () => {
    const list = (await ok(request('GET', `/api/whatsapp/webhooks/${hook.id}/deliveries`), 200)).data as { id: string; eventId: string; status: string }[];
    return list.length >= 2 && list.every((d) => d.status === 'delivered') ? list : undefined;
  }, `${name}'s deliveries`);
  tenant.deliveryIds.push(...deliveries.map((d) => d.id));
  tenant.owned.push(...deliveries.map((d) => d.eventId));
  return tenant;
}

// Everything of a tenant's (or, without one, of everyone's) that a request could change, read from the tables and
// the log in one statement. The session host's own writes (device status, contacts it learns, delivery attempts)
// are left out: they follow WhatsApp and the receivers, not the API. So are the two security records made whatever
// the answer: a failed login (as alice, by anyone: recorded by design, none of her data) and the admin token's use.
export async function digestOf(platform: TestPlatform, tenantId?: number): Promise<string> {
  const sql = sqlOf(platform.app.orm.em.fork());
  const rows = (table: string, columns: string, owner: string) =>
    `(select coalesce(json_agg(t order by t.id), '[]') from (select ${columns} from ${table} where ?::int is null or ${owner} = ?) t)`;
  const statement = `select json_build_array(
      ${rows('users', 'id, username, password_hash, role, disabled_at, phone_number', 'id')},
      ${rows('devices', 'id, user_id, alias, name, session_id, desired_state, metadata, phone_number', 'user_id')},
      ${rows('api_keys', 'id, user_id, kind, name, device_id, expires_at, revoked_at, scopes, device_ids', 'user_id')},
      ${rows('auth_sessions', 'id, user_id, revoked_at, expires_at', 'user_id')},
      ${rows('login_tokens', 'id, user_id, used_at', 'user_id')},
      ${rows('webhook_endpoints', 'id, user_id, url, events, headers, sealed_headers, secret, previous_secret, enabled, description, retry_on_failure, max_retries, rate_limit, device_id, kind, format', 'user_id')},
      (select coalesce(json_agg(t order by t.type), '[]') from (select type, count(*)::int as n from events where (?::int is null or tenant_id = ?) and type !~ ? group by type) t)
    ) as digest`;
  const owner = [tenantId ?? null, tenantId ?? null];
  const [row] = await sql(statement, [...owner, ...owner, ...owner, ...owner, ...owner, ...owner, ...owner, WORKER_OR_SECURITY_EVENTS]);
  return JSON.stringify(row!.digest);
}

// Events the session host, the webhook worker or the campaign runner append, and those two security records.
const WORKER_OR_SECURITY_EVENTS = '^(device\\.|contact\\.|campaign\\.(progressed|completed)|message\\.(sent|delivered|read|played|failed)|webhook\\.(attempted|delivery-abandoned)|auth\\.(login-failed|admin-token-used)$)';

const DIGEST_PARTS = ['users', 'devices', 'api_keys', 'auth_sessions', 'login_tokens', 'webhook_endpoints', 'events by type'];

// Which parts of two digests differ, readably.
export function digestChange(before: string, after: string): string {
  const [a, b] = [JSON.parse(before) as unknown[], JSON.parse(after) as unknown[]];
  return DIGEST_PARTS.flatMap((part, i) => {
    const [x, y] = [JSON.stringify(a[i]), JSON.stringify(b[i])];
    return x === y ? [] : [`${part}: ${x.length > 300 ? `${x.slice(0, 300)}…` : x} → ${y.length > 300 ? `…${y.slice(-300)}` : y}`];
  }).join('; ');
}
