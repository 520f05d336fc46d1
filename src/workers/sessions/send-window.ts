import { isJidGroup, jidNormalizedUser, type WASocket } from '@whiskeysockets/baileys';
import type { Coordination } from '../../coordination/coordination.ts';

// A message's ciphertext leaves before Baileys stores the ratchet step it took: relayMessage writes the Signal
// session in the key-store transaction around the send, committed after the frame is written. A holder killed in
// between leaves a stored session one step behind what the contact's phone has seen, and the next holder's next
// message to that chat reuses a message key the phone has used: the phone cannot open it (WhatsApp would ask for a
// retry, which needs the message again). Each send is therefore marked in the coordination store while it is in that
// window (a session sends one message at a time), and whoever logs the session in next starts a fresh Signal session
// with that chat before anything goes out — what Baileys did, by accident, for every chat on every takeover while
// its device lists lived in memory. Marks do not lapse on their own: a stale ratchet does not heal with time.

const markOf = (deviceId: number) => `send-in-flight:${deviceId}`;
const KEPT_MS = 30 * 24 * 60 * 60_000;

// Wraps the socket's sends (the sender calls these; Baileys' internal sends go around them).
export function markSendsInFlight(socket: WASocket, coordination: Coordination, deviceId: number): void {
  for (const name of ['sendMessage', 'relayMessage'] as const) {
    const send = socket[name].bind(socket) as (jid: string, ...rest: unknown[]) => Promise<unknown>;
    (socket as unknown as Record<string, unknown>)[name] = async (jid: string, ...rest: unknown[]) => {
      await coordination.set(markOf(deviceId), jid, KEPT_MS);
      const sent = await send(jid, ...rest);
      // Resolved: the ratchet is stored. A failed send keeps its mark (its commit may be what failed).
      await coordination.delete(markOf(deviceId));
      return sent;
    };
  }
}

// At login, before the session sends: a chat whose last send may not have been stored gets a fresh Signal session.
// Groups are left out (a known gap): their sender-key state needs more than one fresh pairwise session.
export async function resumeInterruptedSend(socket: WASocket, coordination: Coordination, deviceId: number): Promise<void> {
  const jid = await coordination.get(markOf(deviceId));
  if (!jid) return;
  if (!isJidGroup(jid)) await socket.assertSessions([jidNormalizedUser(jid)], true);
  await coordination.delete(markOf(deviceId));
}
