import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DisconnectReason, type AuthenticationState, type WASocket } from '@whiskeysockets/baileys';
import { openCompanion, startCompanion, statusOf } from '../../simulator/companion.ts';
import { memoryAuth } from '../../simulator/memory-auth.ts';
import { useSimulator } from './harness.ts';

// A companion links by pairing code instead of a QR: the phone types the code, both sides agree the adv secret
// through the code-wrapped ephemeral keys, then pair-success, 515 and login as in the QR path.
const fixture = useSimulator();
const { sim, post } = fixture;

// A new companion that asks for a pairing code for `number` on its first QR, as a user choosing "link with phone
// number" would.
function requestCode(number: string): { auth: AuthenticationState; socket: WASocket; code: Promise<string>; closedWith: Promise<number | undefined> } {
  const auth = memoryAuth();
  let asked = false;
  const code = Promise.withResolvers<string>();
  const closedWith = Promise.withResolvers<number | undefined>();
  const socket = startCompanion(fixture.url, auth, (update) => {
    if (update.qr && !asked) {
      asked = true;
      socket.requestPairingCode(number).then(code.resolve, code.reject);
    }
    if (update.connection === 'close') closedWith.resolve(statusOf(update));
  });
  return { auth, socket, code: code.promise, closedWith: closedWith.promise };
}

// Another 8-character code from the same alphabet.
const otherThan = (code: string) => [...code].map((c) => (c === 'Z' ? 'Y' : 'Z')).join('');

test('through the control API, a phone enters the code: pair-success, 515, then login as <number>:<device> with its LID', { timeout: 30_000 }, async () => {
  const phone = sim.createPhone('6281234567201');
  const { auth, code, closedWith } = requestCode(phone.number);
  const typed = await code;
  assert.match(typed, /^[1-9A-HJ-NP-TV-Z]{8}$/);
  assert.equal((await post('/pairing-code', { phone: phone.number, code: typed })).status, 202);
  assert.equal(await closedWith, DisconnectReason.restartRequired);
  assert.equal(auth.creds.me?.id, `${phone.number}:1@s.whatsapp.net`);
  assert.equal(auth.creds.me?.lid, `${phone.lid}:1@lid`);
  assert.equal(auth.creds.registered, true);

  const { socket } = await openCompanion(fixture.url, auth);
  assert.equal(socket.user?.id, `${phone.number}:1@s.whatsapp.net`);
  const devices = (await (await fetch(`${fixture.control}/devices`)).json()) as { jid: string; connections: number }[];
  assert.equal(devices.find((d) => d.jid === `${phone.number}:1@s.whatsapp.net`)?.connections, 1);
  socket.end(undefined);
});

test('a wrong code does not open the key bundle and links nothing; the right code then links the waiting companion', { timeout: 30_000 }, async () => {
  const phone = sim.createPhone('6281234567202');
  const { auth, code, closedWith } = requestCode(phone.number);
  const typed = await code;
  const wrong = await post('/pairing-code', { phone: phone.number, code: otherThan(typed) });
  assert.equal(wrong.status, 400);
  assert.equal([...sim.devices.keys()].some((jid) => jid.startsWith(`${phone.number}:`)), false);
  assert.equal(auth.creds.me?.id, `${phone.number}@s.whatsapp.net`, 'no pair-success reached the companion');

  await sim.enterPairingCode(phone.number, typed);
  assert.equal(await closedWith, DisconnectReason.restartRequired);
  // The failed attempt allotted no device number.
  assert.equal(auth.creds.me?.id, `${phone.number}:1@s.whatsapp.net`);
  const { socket } = await openCompanion(fixture.url, auth);
  socket.end(undefined);
});

test('a code for a phone no companion is waiting on is 404; a malformed code or request 400', async () => {
  sim.createPhone('6281234567203');
  assert.equal((await post('/pairing-code', { phone: '6281234567203', code: 'ABCDEFGH' })).status, 404);
  assert.equal((await post('/pairing-code', { phone: '6281234567299', code: 'ABCDEFGH' })).status, 404);
  assert.equal((await post('/pairing-code', { phone: '6281234567203' })).status, 400);

  const { socket, code } = requestCode('6281234567203');
  await code;
  assert.equal((await post('/pairing-code', { phone: '6281234567203', code: 'ABC' })).status, 400);
  socket.end(undefined);
});
