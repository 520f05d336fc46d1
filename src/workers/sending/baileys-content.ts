import type { AnyMessageContent, WAMessage, WAMessageKey } from '@whiskeysockets/baileys';
import type { MediaContent, MessageContent, MessageRef } from '../../domain/messages.ts';

// Our message content in Baileys' terms, with the options sendMessage takes beside it (a quote). Media goes its own
// way (media-upload.ts): converted and uploaded first, then relayed.

const keyOf = (ref: MessageRef): WAMessageKey => ({
  remoteJid: ref.chatJid,
  fromMe: ref.fromMe,
  id: ref.waMessageId,
  ...(ref.participant ? { participant: ref.participant } : {}),
});

function vcard(displayName: string, phoneNumber: string): string {
  const digits = phoneNumber.replace(/\D/g, '');
  return ['BEGIN:VCARD', 'VERSION:3.0', `FN:${displayName}`, `TEL;type=CELL;type=VOICE;waid=${digits}:+${digits}`, 'END:VCARD'].join('\n');
}

// The message a reply quotes, as Baileys builds the quote shown above the reply from it.
export const quotedOf = (ref: MessageRef): WAMessage => ({ key: keyOf(ref), message: { conversation: ref.text ?? '' } });

export function toBaileys(content: Exclude<MessageContent, MediaContent>): { content: AnyMessageContent; quoted?: WAMessage } {
  switch (content.type) {
    case 'text':
      return {
        content: { text: content.text, ...(content.mentions?.length ? { mentions: content.mentions } : {}) },
        ...(content.quoted ? { quoted: quotedOf(content.quoted) } : {}),
      };
    case 'reaction':
      return { content: { react: { text: content.emoji, key: keyOf(content.target) } } };
    case 'location':
      return {
        content: {
          location: {
            degreesLatitude: content.latitude,
            degreesLongitude: content.longitude,
            ...(content.name ? { name: content.name } : {}),
            ...(content.address ? { address: content.address } : {}),
          },
        },
      };
    case 'contact':
      return { content: { contacts: { displayName: content.displayName, contacts: [{ displayName: content.displayName, vcard: vcard(content.displayName, content.phoneNumber) }] } } };
    case 'edit':
      return { content: { text: content.text, edit: keyOf(content.target) } };
    case 'delete':
      return { content: { delete: keyOf(content.target) } };
  }
}
