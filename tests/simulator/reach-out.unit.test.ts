import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseReachOutPolicy, ReachOutBook } from '../../simulator/reach-out.ts';

// The reach-out bookkeeping alone, on a clock the test holds.
const me = 'me@s.whatsapp.net';
const to = (n: number) => `${n}@s.whatsapp.net`;

function book(restrictAfter?: number) {
  const b = new ReachOutBook();
  b.setPolicy(me, { firstContacts: 2, windowMs: 1000, lockMs: 500, ...(restrictAfter ? { restrictAfter } : {}) });
  return b;
}

test('without a policy every message passes, and contacts become known both ways', () => {
  const b = new ReachOutBook();
  for (let n = 1; n <= 10; n++) assert.equal(b.send(me, to(n), `m${n}`, 0), 'pass');
  assert.equal(b.stateOf(me, 0).knownContacts, 10);
  assert.equal(b.stateOf(to(1), 0).knownContacts, 1);
  assert.deepEqual(b.stateOf(me, 0).refusedMessages, []);
});

test('the first message beyond the window’s allowance is refused and locks the account', () => {
  const b = book();
  assert.equal(b.send(me, to(1), 'a', 0), 'pass');
  assert.equal(b.send(me, to(2), 'b', 10), 'pass');
  assert.equal(b.send(me, to(3), 'c', 20), 'refuse');
  const state = b.stateOf(me, 20);
  assert.deepEqual([state.firstContactsInWindow, state.lockedUntil, state.refused, state.knownContacts], [2, 520, 1, 2]);
  assert.deepEqual(state.refusedMessages, [{ id: 'c', to: to(3), at: 20 }]);
});

test('during the lock known contacts pass, also one that wrote first; new ones are refused', () => {
  const b = book();
  b.send(me, to(1), 'a', 0);
  b.send(me, to(2), 'b', 0);
  b.exchanged(to(9), me);
  assert.equal(b.send(me, to(3), 'c', 0), 'refuse');
  assert.equal(b.send(me, to(1), 'd', 100), 'pass');
  assert.equal(b.send(me, to(9), 'e', 100), 'pass');
  assert.equal(b.send(me, to(4), 'f', 499), 'refuse');
  assert.equal(b.stateOf(me, 499).lockedUntil, 500, 'a refusal during the lock does not extend it');
});

test('when the lock ends the window counts afresh', () => {
  const b = book();
  b.send(me, to(1), 'a', 0);
  b.send(me, to(2), 'b', 0);
  b.send(me, to(3), 'c', 0);
  assert.deepEqual([b.stateOf(me, 500).lockedUntil, b.stateOf(me, 500).firstContactsInWindow], [null, 0]);
  assert.equal(b.send(me, to(3), 'c2', 500), 'pass');
  assert.equal(b.send(me, to(4), 'd', 501), 'pass');
  assert.equal(b.send(me, to(5), 'e', 502), 'refuse');
});

test('first messages older than the window stop counting', () => {
  const b = book();
  b.send(me, to(1), 'a', 0);
  b.send(me, to(2), 'b', 600);
  assert.equal(b.stateOf(me, 1000).firstContactsInWindow, 1);
  assert.equal(b.send(me, to(3), 'c', 1000), 'pass');
});

test('restrictAfter refusals restrict; unrestrict forgives them, and as many again restrict anew', () => {
  const b = book(2);
  b.send(me, to(1), 'a', 0);
  b.send(me, to(2), 'b', 0);
  assert.equal(b.send(me, to(3), 'c', 0), 'refuse');
  assert.equal(b.isRestricted(me), false);
  assert.equal(b.send(me, to(4), 'd', 10), 'restrict');
  assert.equal(b.isRestricted(me), true);
  assert.equal(b.send(me, to(5), 'e', 20), 'refuse', 'restricted once, not again');
  b.unrestrict(me);
  assert.deepEqual([b.isRestricted(me), b.stateOf(me, 20).refused], [false, 3]);
  assert.equal(b.send(me, to(6), 'f', 30), 'refuse');
  assert.equal(b.send(me, to(7), 'g', 40), 'restrict');
});

test('setting a policy (or none) starts afresh but keeps the known contacts', () => {
  const b = book(1);
  b.send(me, to(1), 'a', 0);
  b.send(me, to(2), 'b', 0);
  b.send(me, to(3), 'c', 0);
  assert.equal(b.isRestricted(me), true);
  b.setPolicy(me, null);
  assert.deepEqual(b.stateOf(me, 0), { policy: null, firstContactsInWindow: 0, lockedUntil: null, refused: 0, restricted: false, knownContacts: 2, refusedMessages: [] });
  assert.equal(b.send(me, to(3), 'c', 0), 'pass');
});

test('policies from the control API: integers in range; unknown fields left out', () => {
  assert.deepEqual(parseReachOutPolicy({ firstContacts: 0, windowMs: 1, lockMs: 1, extra: true }), { firstContacts: 0, windowMs: 1, lockMs: 1 });
  assert.deepEqual(parseReachOutPolicy({ firstContacts: 2, windowMs: 60_000, lockMs: 5, restrictAfter: 3 }), { firstContacts: 2, windowMs: 60_000, lockMs: 5, restrictAfter: 3 });
  for (const bad of [undefined, 'x', [], { firstContacts: -1, windowMs: 1, lockMs: 1 }, { firstContacts: 1.5, windowMs: 1, lockMs: 1 }, { firstContacts: 1, windowMs: 0, lockMs: 1 }, { firstContacts: 1, windowMs: 1 }, { firstContacts: 1, windowMs: 1, lockMs: 1, restrictAfter: 0 }]) {
    assert.equal(typeof parseReachOutPolicy(bad), 'string', JSON.stringify(bad));
  }
});
