import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WASocket } from '@whiskeysockets/baileys';
import { connectedCompanion } from '../../simulator/companion.ts';
import type { KeyFetch } from '../../simulator/prekeys.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';
import { until } from '../helpers/wait.ts';

// GET /control/key-fetches: every pre-key bundle a companion fetched, which is what a session that keeps its Signal
// sessions (and Baileys' device lists) across sockets must not need again.
let sim: WhatsAppSimulator;
let control: string;
let socket: WASocket;
const alice = '6281234567501';
const bob = '6281234567502';

const fetches = async () => (await (await fetch(`${control}/key-fetches`)).json()) as KeyFetch[];
const send = async (text: string) => {
  await socket.sendMessage(`${bob}@s.whatsapp.net`, { text });
  await until(() => (sim.inbox(bob).some((m) => m.text === text) ? true : undefined), text);
};

before(async () => {
  sim = new WhatsAppSimulator();
  let url: string;
  ({ url, control } = await sim.listen());
  for (const number of [alice, bob]) sim.createPhone(number);
  ({ socket } = await connectedCompanion(url, (qr) => sim.scan(qr, alice)));
});
after(async () => {
  socket.end(undefined);
  await sim.close();
});

test('the first text to a contact fetches its bundle (by LID, forced by Baileys); the next, on the same socket, none', { timeout: 30_000 }, async () => {
  const companion = [...sim.devices.keys()].find((j) => j.startsWith(`${alice}:`))!;
  await send('first');
  const first = await fetches();
  const bobLid = `${sim.phones.get(bob)!.lid}@lid`;
  assert.ok(first.some((f) => f.by === companion && f.of === bobLid && f.reason === 'identity' && f.at <= Date.now()), JSON.stringify(first));
  await send('second');
  assert.deepEqual(await fetches(), first);
});
