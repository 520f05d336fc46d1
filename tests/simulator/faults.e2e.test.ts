import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DisconnectReason, type AuthenticationState } from '@whiskeysockets/baileys';
import { linkCompanion, openCompanion } from '../../simulator/companion.ts';
import { WhatsAppSimulator, type FaultKind } from '../../simulator/server.ts';

// Each fault reaches the real Baileys client as the disconnect reason WhatsApp's own would.
let sim: WhatsAppSimulator;
let url: string;
let control: string;
let auth: AuthenticationState;
let jid: string;
before(async () => {
  sim = new WhatsAppSimulator();
  ({ url, control } = await sim.listen());
  const phone = sim.createPhone('6281234567100');
  ({ auth } = await linkCompanion(url, (qr) => sim.scan(qr, phone.number)));
  jid = auth.creds.me!.id;
});
after(() => sim.close());

const fault = (kind: FaultKind, extra: object = {}) =>
  fetch(`${control}/devices/${encodeURIComponent(jid)}/fault`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind, ...extra }),
  });

const cases: [FaultKind, number][] = [
  ['drop', DisconnectReason.connectionClosed],
  ['restart', DisconnectReason.restartRequired],
  ['conflict', DisconnectReason.connectionReplaced],
];

for (const [kind, code] of cases) {
  test(`fault ${kind} closes the companion with ${code}`, { timeout: 30_000 }, async () => {
    const { closed } = await openCompanion(url, auth);
    assert.equal((await fault(kind)).status, 202);
    assert.equal(await closed, code);
  });
}

test('fault refuse turns connections away for a while, then lets them in', { timeout: 30_000 }, async () => {
  const { closed } = await openCompanion(url, auth);
  assert.equal((await fault('refuse', { durationMs: 1500 })).status, 202);
  assert.equal(await closed, DisconnectReason.connectionClosed);
  await assert.rejects(openCompanion(url, auth));
  await new Promise((resolve) => setTimeout(resolve, 1600));
  const again = await openCompanion(url, auth);
  again.socket.end(undefined);
});

test('fault logout closes with 401 and the device stays logged out', { timeout: 30_000 }, async () => {
  const { closed } = await openCompanion(url, auth);
  assert.equal((await fault('logout')).status, 202);
  assert.equal(await closed, DisconnectReason.loggedOut);
  await assert.rejects(openCompanion(url, auth), (err: { statusCode?: number }) => err.statusCode === DisconnectReason.loggedOut);
  assert.equal((await fault('drop')).status, 404, 'the device is no longer linked');
});
