import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { makeCacheableSignalKeyStore, makeWASocket, DisconnectReason, type ConnectionState } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { sqlOf } from '../../src/events/event-store.ts';
import { claimFence, FencedWriteError, loadAuthState, wipeAuthState } from '../../src/workers/sessions/auth-state.ts';
import { open } from '../../src/secret-box.ts';
import { insertDevice, useTestDatabase } from '../helpers/database.ts';
import { statusOf } from '../../simulator/companion.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';

// The platform's auth store under the real Baileys client: linked through the simulator, restarted from
// PostgreSQL alone, and nothing usable in the rows without ENCRYPTION_KEY.
const key = randomBytes(32);
let sim: WhatsAppSimulator;
let url: string;
let deviceId: number;
before(async () => {
  sim = new WhatsAppSimulator();
  ({ url } = await sim.listen());
});
// The writer's fencing token, as a lease would hand it out.
const FENCE = 7;
const db = useTestDatabase(async (orm) => {
  ({ deviceId } = await insertDevice(orm));
  assert.ok(await claimFence(orm.em.fork(), deviceId, FENCE));
});
after(() => sim.close());

async function connect(onUpdate: (update: Partial<ConnectionState>) => void) {
  const stored = await loadAuthState(db.orm.em.fork(), deviceId, key, FENCE);
  const logger = pino({ level: 'silent' });
  const socket = makeWASocket({
    waWebSocketUrl: url,
    auth: { creds: stored.state.creds, keys: makeCacheableSignalKeyStore(stored.state.keys, logger) },
    logger,
    markOnlineOnConnect: false,
  });
  // The next connect loads from the database, so it must wait for the last write.
  let saved = Promise.resolve();
  socket.ev.on('creds.update', () => void (saved = saved.then(() => stored.saveCreds())));
  socket.ev.on('connection.update', onUpdate);
  return { socket, stored, saved: () => saved };
}

test('a session linked once reconnects from the database alone, without a QR', { timeout: 30_000 }, async () => {
  const phone = sim.createPhone('6281234567200');
  let first: ReturnType<typeof connect> | undefined;
  const restart = await new Promise<number | undefined>((resolve) => {
    first = connect((update) => {
      if (update.qr) sim.scan(update.qr, phone.number);
      if (update.connection === 'close') resolve(statusOf(update));
    });
  });
  assert.equal(restart, DisconnectReason.restartRequired);
  await (await first!).saved();

  const { socket, stored } = await new Promise<Awaited<ReturnType<typeof connect>>>((resolve, reject) => {
    const pending = connect((update) => {
      if (update.qr) reject(new Error('asked for a QR again'));
      if (update.connection === 'open') void pending.then(resolve);
      if (update.connection === 'close') reject(new Error(`closed with ${statusOf(update)}`));
    });
  });
  assert.equal(stored.state.creds.me?.id, `${phone.number}:1@s.whatsapp.net`);
  await stored.saveCreds();
  socket.end(undefined);
});

test('the stored rows hold no plaintext key material and only open under the right key and row', async () => {
  const sql = sqlOf(db.orm.em.fork());
  const [creds] = await sql('select data from session_creds where device_id = ?', [deviceId]);
  assert.ok(creds, 'creds were saved');
  const keyRows = await sql('select type, key_id, data from session_keys where device_id = ?', [deviceId]);
  assert.ok(keyRows.length > 0, 'Signal keys were saved');

  const decrypted = JSON.parse(open(key, String(creds.data), `device:${deviceId}:creds`));
  const secrets = [decrypted.noiseKey.private.data, decrypted.signedIdentityKey.private.data, decrypted.advSecretKey];
  const everything = [String(creds.data), ...keyRows.map((r) => String(r.data))].join('\n');
  for (const secret of secrets) assert.ok(!everything.includes(secret), 'no secret appears in the stored text');
  for (const row of keyRows) assert.match(String(row.data), /^v1\./);

  assert.throws(() => open(randomBytes(32), String(creds.data), `device:${deviceId}:creds`), 'another key cannot open it');
  const [first] = keyRows;
  assert.throws(() => open(key, String(first!.data), `device:${deviceId + 1}:${first!.type}:${first!.key_id}`), 'nor can another row');
});

test('a holder with an older token is fenced off; a newer one takes the fence', async () => {
  let refusals = 0;
  const stale = await loadAuthState(db.orm.em.fork(), deviceId, key, FENCE - 1, () => refusals++);
  await assert.rejects(stale.saveCreds(), FencedWriteError);
  await assert.rejects(async () => stale.state.keys.set({ 'pre-key': { '999': null } }), FencedWriteError);
  assert.equal(refusals, 2);
  assert.equal(await claimFence(db.orm.em.fork(), deviceId, FENCE - 1), false, 'an older token cannot take the fence back');
  assert.equal(await claimFence(db.orm.em.fork(), deviceId, FENCE), false, 'nor can the same token twice');
});

test('wiping removes creds and keys and refuses the old holder\'s late writes; the next start offers a QR', async () => {
  const sql = sqlOf(db.orm.em.fork());
  const holder = await loadAuthState(db.orm.em.fork(), deviceId, key, FENCE);
  await wipeAuthState(db.orm.em.fork(), deviceId);
  assert.deepEqual(await sql('select type, key_id from session_keys where device_id = ?', [deviceId]), []);
  // Baileys stores the LID mapping in the background after login: such a write landing after the wipe is refused.
  await assert.rejects(async () => holder.state.keys.set({ 'lid-mapping': { '6281234567200': '123456789' } }), FencedWriteError);
  await assert.rejects(holder.saveCreds(), FencedWriteError);
  assert.deepEqual(await sql('select type, key_id from session_keys where device_id = ?', [deviceId]), []);
  assert.deepEqual(await sql('select device_id from session_creds where device_id = ?', [deviceId]), []);
  assert.ok(await claimFence(db.orm.em.fork(), deviceId, FENCE + 1));
  const fresh = await loadAuthState(db.orm.em.fork(), deviceId, key, FENCE + 1);
  assert.equal(fresh.state.creds.me, undefined);
});

test('a key seen absent is found once written, and a read racing a write never records it absent', async () => {
  // A device of its own: the tests above fence and wipe the shared one.
  const { deviceId: own } = await insertDevice(db.orm, 'absent-keys');
  assert.ok(await claimFence(db.orm.em.fork(), own, 1));
  const { state } = await loadAuthState(db.orm.em.fork(), own, key, 1);
  const token = { token: Buffer.from('tc'), timestamp: '1' } as never;
  assert.deepEqual(await state.keys.get('tctoken', ['628100@s.whatsapp.net']), {});
  await state.keys.set({ tctoken: { '628100@s.whatsapp.net': token } });
  assert.ok((await state.keys.get('tctoken', ['628100@s.whatsapp.net']))['628100@s.whatsapp.net'], 'written after an absent read');
  // A read that starts while a write is in flight.
  const racing = state.keys.get('tctoken', ['628101@s.whatsapp.net']);
  await Promise.all([state.keys.set({ tctoken: { '628101@s.whatsapp.net': token } }), racing]);
  assert.ok((await state.keys.get('tctoken', ['628101@s.whatsapp.net']))['628101@s.whatsapp.net'], 'found after the racing read');
});
