import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WhatsAppSimulator } from '../../simulator/server.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';
import { linkDevice, useLinkedPlatform, type LinkedDevice } from '../helpers/whatsapp.ts';
import { policyCalls, POLICY_ON } from './helpers.ts';

// The send policy against a WhatsApp that restricts: the simulator time-locks first contacts past its threshold (463)
// and, after enough refusals, restricts the number (every companion told 403). The policy's defaults keep a new
// number under the threshold; loosened caps meet the 463s, and the health pause comes before a third refusal would
// restrict; a number restricted all the same is logged out as forbidden, and its health shows it.
let sim: WhatsAppSimulator;
let platform: TestPlatform;
let user: { id: number; username: string; token: string };
let device: LinkedDevice;
useLinkedPlatform(POLICY_ON, { username: 'reaching-out', alias: 'brand-new', number: '6281591000001' }, (linked) => ({ sim, platform, user, device } = linked));
const { call, sql, policyOf, deviceEvents } = policyCalls(() => ({ platform, user }));
const count = async (query: string, params: unknown[]) => Number((await sql()(query, params))[0]!.n);
let phones = 0;
const strangers = (n: number) => Array.from({ length: n }, () => sim.createPhone(`62815919${String(++phones).padStart(5, '0')}`).number);
const arrivedAt = (numbers: string[], from: LinkedDevice) => numbers.map((n) => sim.inbox(n).filter((m) => m.from.startsWith(from.number)).length);

async function bulk(from: LinkedDevice, to: string[]): Promise<void> {
  const res = await call('POST', '/api/whatsapp/send/bulk', { sessionId: from.sessionId, message: 'Our new menu is out', recipients: to.map((phoneNumber) => ({ phoneNumber })) });
  assert.equal(res.statusCode, 202, res.body);
}
const heldReasons = async (from: LinkedDevice) =>
  (await sql()(`select held_reason from message_status where device_id = ? and direction = 'out' and status = 'queued'`, [from.id])).map((r) => String(r.held_reason));
// Loosened by its owner: first contacts capped far above what WhatsApp takes, a 463 pausing them for a second only.
const loosen = async (linked: LinkedDevice) =>
  assert.equal((await call('PUT', `/api/whatsapp/devices/${linked.id}/send-policy`, { newContactsRamp: [1000], newContactsCap: 1000, firstContactPauseSeconds: 1 })).statusCode, 200);

test('the defaults keep a new number under WhatsApp’s threshold: 2 first contacts on day 1, no 463, the rest held with the cap as reason', { timeout: 60_000 }, async () => {
  sim.setReachOut(device.number, { firstContacts: 3, windowMs: 600_000, lockMs: 600_000, restrictAfter: 1 });
  const to = strangers(6);
  await bulk(device, to);
  await until(async () => ((await heldReasons(device)).length === 4 ? true : undefined), 'four held', 20_000);
  await sleep(1500);
  assert.deepEqual(arrivedAt(to, device), [1, 1, 0, 0, 0, 0]);
  assert.ok((await heldReasons(device)).every((r) => /2 new contacts today, the cap on day 1 of the warm-up is 2/.test(r)), String(await heldReasons(device)));
  const state = sim.reachOutOf(device.number);
  assert.deepEqual([state.refused, state.restricted], [0, false]);
  const view = await policyOf(device);
  assert.deepEqual([view.today.newContacts, view.today.newContactsCap, view.health.level], [2, 2, 'good']);
});

test('loosened caps meet two 463s: the health pause holds the bulk before a third refusal would restrict the number', { timeout: 90_000 }, async () => {
  const number = '6281591000002';
  const loose = await linkDevice(platform, sim, user.token, 'loose', number);
  await loosen(loose);
  sim.setReachOut(number, { firstContacts: 3, windowMs: 600_000, lockMs: 600_000, restrictAfter: 3 });
  const to = strangers(8);
  await bulk(loose, to);
  await until(async () => ((await deviceEvents(loose, 'device.send-paused')).some((e) => e.scope === 'health') ? true : undefined), 'a health pause', 30_000);
  await sleep(2000);
  const state = sim.reachOutOf(number);
  assert.deepEqual([state.refused, state.restricted], [2, false], 'two refusals (25 each) reach the pause at 40; WhatsApp wanted three');
  assert.equal(await count(`select count(*)::int as n from events where type = 'message.refused' and device_id = ?`, [loose.id]), 2);
  assert.deepEqual(arrivedAt(to, loose), [1, 1, 1, 0, 0, 0, 0, 0]);
  const view = await policyOf(loose);
  assert.equal(view.paused.health.level, 'paused');
  assert.equal((await heldReasons(loose)).length, 5, 'the rest waits, none failed');
  assert.equal(await count(`select count(*)::int as n from message_status where device_id = ? and status = 'failed'`, [loose.id]), 0);
});

test('a number WhatsApp restricts all the same (403) is logged out as forbidden; its health stops it, nothing is sent twice', { timeout: 90_000 }, async () => {
  const number = '6281591000003';
  const doomed = await linkDevice(platform, sim, user.token, 'doomed', number);
  await loosen(doomed);
  sim.setReachOut(number, { firstContacts: 2, windowMs: 600_000, lockMs: 600_000, restrictAfter: 1 });
  const to = strangers(5);
  await bulk(doomed, to);
  await until(async () => ((await deviceEvents(doomed, 'device.logged-out')).length ? true : undefined), 'logged out by WhatsApp', 30_000);
  assert.deepEqual(await deviceEvents(doomed, 'device.logged-out'), [{ reason: 'forbidden' }]);
  assert.equal(sim.reachOutOf(number).restricted, true);
  await until(async () => ((await call('GET', `/api/whatsapp/devices/${doomed.id}`)).json().data.status === 'logged_out' ? true : undefined), 'the device shows logged_out');
  const view = await policyOf(doomed);
  assert.ok(view.health.score >= 60, `a 463 (25) and a 403 (40), less a minute's decay: ${view.health.score}`);
  assert.equal(view.health.level, 'paused');
  await sleep(1000);
  assert.deepEqual(arrivedAt(to, doomed), [1, 1, 0, 0, 0]);
  assert.equal(await count(`select count(*)::int as n from events where type = 'message.sent' and device_id = ?`, [doomed.id]), 2, 'the two before the lock, once each');
});
