import { jidNormalizedUser, type WASocket } from '@whiskeysockets/baileys';
import { buildMergedTcTokenIndexWrite, resolveTcTokenJid, shouldSendNewTcToken } from '@whiskeysockets/baileys/lib/Utils/tc-token-utils.js';

// After a one-to-one message Baileys (rc14) issues our account's privacy token to the contact, as WhatsApp Web does
// at most once per contact and week, and records when in the key store. It records it from a promise started inside
// the send's key transaction, though: the write joins that transaction after it has committed, and is lost. So it
// issued the token again with every message, one more round trip to WhatsApp per message and a pattern WhatsApp Web
// never shows. The sender records the issue itself once WhatsApp took the message, outside any key transaction. (An
// issue that failed is then not retried before the next week; Baileys would retry it with the next message.)
export async function recordTokenIssued(socket: WASocket, to: string, now: Date): Promise<void> {
  const { keys } = socket.authState;
  const jid = await resolveTcTokenJid(jidNormalizedUser(to), (pn) => socket.signalRepository.lidMapping.getLIDForPN(pn));
  const { [jid]: entry } = await keys.get('tctoken', [jid]);
  if (!shouldSendNewTcToken(entry?.senderTimestamp)) return;
  const index = await buildMergedTcTokenIndexWrite(keys, [jid]);
  await keys.set({ tctoken: { [jid]: { token: Buffer.alloc(0), ...entry, senderTimestamp: Math.floor(now.getTime() / 1000) }, ...index } });
}
