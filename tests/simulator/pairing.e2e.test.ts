import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DisconnectReason } from '@whiskeysockets/baileys';
import { linkCompanion, openCompanion } from '../../simulator/companion.ts';
import { memoryAuth } from '../../simulator/memory-auth.ts';
import { useSimulator } from './harness.ts';

// A companion links by QR, restarts on 515 and logs in as the new device, as against WhatsApp.
const fixture = useSimulator();
const { sim, post } = fixture;

test('through the control API, a phone scans the QR: pair-success, 515, then login as <number>:<device> with its LID', { timeout: 30_000 }, async () => {
  const created = await post('/phones', { number: '6281234567001' });
  assert.equal(created.status, 201);
  const phone = (await created.json()) as { number: string; lid: string };
  const { auth, closedWith } = await linkCompanion(fixture.url, async (qr) => {
    assert.equal((await post('/scan', { qr, phone: phone.number })).status, 202);
  });
  assert.equal(closedWith, DisconnectReason.restartRequired);
  assert.equal(auth.creds.me?.id, `${phone.number}:1@s.whatsapp.net`);
  assert.equal(auth.creds.me?.lid, `${phone.lid.replace('@lid', '')}:1@lid`);

  const { socket } = await openCompanion(fixture.url, auth);
  assert.equal(socket.user?.id, `${phone.number}:1@s.whatsapp.net`);
  const devices = (await (await fetch(`${fixture.control}/devices`)).json()) as { jid: string; connections: number }[];
  assert.deepEqual(devices.find((d) => d.jid === `${phone.number}:1@s.whatsapp.net`)?.connections, 1);
  socket.end(undefined);
});

test('a device whose Noise key does not match the linked one is refused with 401', { timeout: 30_000 }, async () => {
  const phone = sim.createPhone('6281234567002');
  const { auth } = await linkCompanion(fixture.url, (qr) => sim.scan(qr, phone.number));
  const stolen = memoryAuth();
  stolen.creds.me = auth.creds.me!;
  await assert.rejects(openCompanion(fixture.url, stolen), (err: { statusCode?: number }) => err.statusCode === DisconnectReason.loggedOut);
});

test('scanning an unknown QR is 404; a bad phone number 400', async () => {
  sim.createPhone('6281234567003');
  assert.equal((await post('/scan', { qr: 'https://wa.me/settings/linked_devices#nope,a,b,c,1', phone: '6281234567003' })).status, 404);
  assert.equal((await post('/phones', { number: '+62 81' })).status, 400);
});
