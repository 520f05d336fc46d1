import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DisconnectReason, makeWASocket } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { memoryAuth } from '../../simulator/memory-auth.ts';
import { parseQr, WhatsAppSimulator } from '../../simulator/server.ts';

// The real Baileys client against the simulator: handshake, then QR refs for a new device.
let sim: WhatsAppSimulator;
let url: string;
before(async () => {
  sim = new WhatsAppSimulator({ refsPerPairing: 3 });
  ({ url } = await sim.listen());
});
after(() => sim.close());

test('Baileys completes the Noise handshake and shows each QR ref in turn, then gives up with 408', { timeout: 30_000 }, async () => {
  const socket = makeWASocket({
    waWebSocketUrl: url,
    auth: memoryAuth(),
    logger: pino({ level: 'silent' }),
    qrTimeout: 300,
    markOnlineOnConnect: false,
  });
  const qrs: string[] = [];
  const closed = new Promise<number | undefined>((resolve) => {
    socket.ev.on('connection.update', (update) => {
      if (update.qr) qrs.push(update.qr);
      if (update.connection === 'close') {
        resolve((update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode);
      }
    });
  });
  const code = await closed;
  assert.equal(code, DisconnectReason.timedOut, sim.logs.join('\n'));
  assert.deepEqual(
    qrs.map((qr) => parseQr(qr).ref),
    sim.issuedRefs.map((r) => r.ref),
    'one QR per ref, in order',
  );
  assert.equal(qrs.length, 3);
  assert.equal(parseQr(qrs[0]!).noiseKey.length, 32, 'the QR carries the companion keys a phone needs to pair');
});
