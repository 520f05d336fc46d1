import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { DisconnectReason, proto, type AuthenticationState, type WASocket } from '@whiskeysockets/baileys';
import { connectedCompanion, openCompanion } from '../../simulator/companion.ts';
import { watch, type Watch } from '../../simulator/events.ts';
import type { Phone } from '../../simulator/phones.ts';
import type { ReachOutState } from '../../simulator/reach-out.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';

// A companion of an account that writes to too many new people meets WhatsApp's reach-out limits: 463 for first
// messages beyond the allowance and during the time-lock that follows, existing chats untouched, and, after
// repeated refusals, a restricted number (403) until the restriction is lifted.
const { ERROR } = proto.WebMessageInfo.Status;
let fixture: { sim: WhatsAppSimulator; url: string; control: string };
const policy = { firstContacts: 2, windowMs: 60_000, lockMs: 1500 };
let alice: Phone;
let others: Record<'bob' | 'carol' | 'dave' | 'erin' | 'frank' | 'gil' | 'hal' | 'ivy', Phone>;
let auth: AuthenticationState;
let socket: WASocket;
let closed: Promise<number | undefined>;
let events: Watch;
// The messages Baileys marked ERROR, by id: their `messageStubParameters`.
const errors = new Map<string, string[]>();
const sim = () => fixture.sim;

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${fixture.control}${path}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as ReachOutState };
};
const stateOf = async (phone: Phone) => (await call('GET', `/phones/${phone.number}/reach-out`)).body;

// An ack that lands while the upsert of our own message is still buffered is merged into it: read both events.
function noteErrors(s: WASocket): void {
  const note = (id: string | null | undefined, status: number | null | undefined, stub: string[] | null | undefined) => {
    if (id && status === ERROR) errors.set(id, stub ?? []);
  };
  s.ev.on('messages.update', (updates) => {
    for (const { key, update } of updates) note(key.id, update.status, update.messageStubParameters);
  });
  s.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) note(m.key.id, m.status, m.messageStubParameters);
  });
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(20)) {
    const found = check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

const send = async (to: Phone, text: string) => (await socket.sendMessage(to.jid, { text }))!.key.id!;
const arrives = (phone: Phone, id: string) => until(`${id} in ${phone.number}'s inbox`, () => sim().inbox(phone.number).find((m) => m.id === id));
const refused = (id: string) => until(`an error update for ${id}`, () => errors.get(id));

before(async () => {
  const created = new WhatsAppSimulator();
  fixture = { sim: created, ...(await created.listen()) };
  alice = sim().createPhone('6281234567501');
  const names = ['bob', 'carol', 'dave', 'erin', 'frank', 'gil', 'hal', 'ivy'] as const;
  others = Object.fromEntries(names.map((name, i) => [name, sim().createPhone(`62812345675${10 + i}`)])) as typeof others;
  ({ auth, socket, closed } = await connectedCompanion(fixture.url, (qr) => sim().scan(qr, alice.number)));
  noteErrors(socket);
  events = watch(socket);
});
after(async () => {
  socket.end(undefined);
  await fixture.sim.close();
});

test('two first messages arrive; the third gets 463 and never arrives', { timeout: 30_000 }, async () => {
  const { bob, carol, dave, erin } = others;
  const set = await call('PUT', `/phones/${alice.number}/reach-out`, policy);
  assert.deepEqual([set.status, set.body.policy, set.body.lockedUntil], [200, policy, null]);
  // Erin writes first: a chat the account already has.
  const fromErin = sim().sendFromPhone(erin.number, alice.jid, 'hello alice');
  await events.waitForMessage((m) => m.key.id === fromErin);

  await arrives(bob, await send(bob, 'hi bob'));
  await arrives(carol, await send(carol, 'hi carol'));
  const toDave = await send(dave, 'hi dave');
  // rc14 adds its restriction text after the code: `[attrs.error, ACCOUNT_RESTRICTED_TEXT]` for a 463.
  assert.equal((await refused(toDave))[0], '463');

  const state = await stateOf(alice);
  assert.deepEqual([state.firstContactsInWindow, state.refused, state.restricted, state.knownContacts], [2, 1, false, 3]);
  assert.ok(state.lockedUntil! > Date.now() && state.lockedUntil! <= Date.now() + policy.lockMs);
  assert.deepEqual(state.refusedMessages.map(({ id, to }) => ({ id, to })), [{ id: toDave, to: dave.jid }]);
});

test('during the lock existing chats go through, a reply to a phone that wrote first too; a new one gets 463', { timeout: 30_000 }, async () => {
  const { bob, erin, frank } = others;
  const { lockedUntil } = await stateOf(alice);
  const toBob = await arrives(bob, await send(bob, 'still here, bob'));
  const toErin = await arrives(erin, await send(erin, 'hello erin'));
  const toFrank = await send(frank, 'hi frank');
  assert.equal((await refused(toFrank))[0], '463');
  assert.ok(toBob.receivedAt < lockedUntil! && toErin.receivedAt < lockedUntil!, 'both went through while the account was locked');
  assert.equal((await stateOf(alice)).lockedUntil, lockedUntil, 'a refusal during the lock does not extend it');
});

test('after the lock a first message to a new phone arrives; the refused never did', { timeout: 30_000 }, async () => {
  const { dave, frank, gil } = others;
  const { lockedUntil, refusedMessages } = await stateOf(alice);
  await sleep(lockedUntil! - Date.now() + 50);
  await arrives(gil, await send(gil, 'hi gil'));
  const state = await stateOf(alice);
  assert.deepEqual([state.lockedUntil, state.firstContactsInWindow, state.refused], [null, 1, 2]);
  for (const phone of [dave, frank]) assert.deepEqual(sim().inbox(phone.number), [], `nothing reached ${phone.number}`);
  assert.equal(refusedMessages.length, 2);
});

test('restrictAfter 2: the second refusal closes the companion with 403, logins get 403 until unrestrict', { timeout: 60_000 }, async () => {
  const { bob, dave, frank, hal, ivy } = others;
  assert.equal((await call('PUT', `/phones/${alice.number}/reach-out`, { ...policy, restrictAfter: 2 })).status, 200);
  await arrives(hal, await send(hal, 'hi hal'));
  await arrives(ivy, await send(ivy, 'hi ivy'));
  const first = await send(dave, 'hi again, dave');
  assert.equal((await refused(first))[0], '463');
  assert.equal((await stateOf(alice)).restricted, false);
  const second = await send(frank, 'hi again, frank');
  assert.equal(await closed, DisconnectReason.forbidden);
  await assert.rejects(openCompanion(fixture.url, auth), (err: { statusCode?: number }) => err.statusCode === DisconnectReason.forbidden);
  const state = await stateOf(alice);
  assert.deepEqual([state.restricted, state.refused, state.refusedMessages.map((r) => r.id)], [true, 2, [first, second]]);

  const lifted = await call('POST', `/phones/${alice.number}/unrestrict`);
  assert.deepEqual([lifted.status, lifted.body.restricted], [200, false]);
  ({ socket, closed } = await openCompanion(fixture.url, auth));
  await arrives(bob, await send(bob, 'back again, bob'));
  for (const phone of [dave, frank]) assert.deepEqual(sim().inbox(phone.number), [], `nothing reached ${phone.number}`);
});

test('the control API: 400 for bad policies, 404 for unknown phones, null or DELETE turns the limits off', async () => {
  const path = `/phones/${alice.number}/reach-out`;
  for (const bad of [{ firstContacts: -1, windowMs: 1, lockMs: 1 }, { firstContacts: 1, windowMs: 0, lockMs: 1 }, { ...policy, restrictAfter: 0 }, { firstContacts: 1 }, 'x']) {
    assert.equal((await call('PUT', path, bad)).status, 400, JSON.stringify(bad));
  }
  assert.equal((await call('GET', '/phones/6280000000000/reach-out')).status, 404);
  assert.equal((await call('POST', '/phones/6280000000000/unrestrict')).status, 404);
  assert.equal((await call('PUT', path, policy)).body.policy?.firstContacts, 2);
  assert.equal((await call('PUT', path, null)).body.policy, null);
  assert.equal((await call('PUT', path, policy)).status, 200);
  const off = await call('DELETE', path);
  assert.deepEqual([off.status, off.body.policy, off.body.refused, off.body.restricted], [200, null, 0, false]);
  assert.deepEqual(sim().reachOutOf(alice.number).policy, null);
});
