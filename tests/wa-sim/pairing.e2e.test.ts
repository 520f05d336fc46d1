import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DisconnectReason, makeWASocket, type AuthenticationState, type ConnectionState } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { WhatsAppSimulator } from './server.ts';
import { memoryAuth } from './memory-auth.ts';

// A companion links by QR, restarts on 515 and logs in as the new device, as against WhatsApp.
let sim: WhatsAppSimulator;
let url: string;
before(async () => {
  sim = new WhatsAppSimulator();
  ({ url } = await sim.listen());
});
after(() => sim.close());

function connect(auth: AuthenticationState, onUpdate: (update: Partial<ConnectionState>) => void) {
  const socket = makeWASocket({ waWebSocketUrl: url, auth, logger: pino({ level: 'silent' }), markOnlineOnConnect: false });
  socket.ev.on('creds.update', (update) => Object.assign(auth.creds, update));
  socket.ev.on('connection.update', onUpdate);
  return socket;
}

const statusOf = (update: Partial<ConnectionState>) => (update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;

test('a phone scans the QR: pair-success, 515 restart, then login as <number>:<device> with its LID', { timeout: 30_000 }, async () => {
  const phone = sim.createPhone('6281234567001');
  const auth = memoryAuth();
  const restart = await new Promise<number | undefined>((resolve) => {
    connect(auth, (update) => {
      if (update.qr) sim.scan(update.qr, phone.number);
      if (update.connection === 'close') resolve(statusOf(update));
    });
  });
  assert.equal(restart, DisconnectReason.restartRequired);
  assert.equal(auth.creds.me?.id, `${phone.number}:1@s.whatsapp.net`);
  assert.equal(auth.creds.me?.lid, `${phone.lid}:1@lid`);

  const socket = await new Promise<ReturnType<typeof connect>>((resolve, reject) => {
    const s = connect(auth, (update) => {
      if (update.qr) reject(new Error('a linked device must not be shown a QR again'));
      if (update.connection === 'open') resolve(s);
      if (update.connection === 'close') reject(new Error(`closed with ${statusOf(update)}: ${sim.logs.join('\n')}`));
    });
  });
  assert.equal(socket.user?.id, `${phone.number}:1@s.whatsapp.net`);
  socket.end(undefined);
});

test('a device whose Noise key does not match the linked one is refused with 401', { timeout: 30_000 }, async () => {
  const phone = sim.createPhone('6281234567002');
  const auth = memoryAuth();
  await new Promise<void>((resolve) => {
    connect(auth, (update) => {
      if (update.qr) sim.scan(update.qr, phone.number);
      if (update.connection === 'close') resolve();
    });
  });
  const stolen = memoryAuth();
  stolen.creds.me = auth.creds.me!;
  const code = await new Promise<number | undefined>((resolve) => {
    connect(stolen, (update) => {
      if (update.connection === 'close') resolve(statusOf(update));
    });
  });
  assert.equal(code, DisconnectReason.loggedOut);
});
