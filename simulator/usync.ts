import { getBinaryNodeChild, getBinaryNodeChildren, type BinaryNode } from '@whiskeysockets/baileys';
import { addressingOf, endpointsOf, findPhone, type Directory } from './directory.ts';
import type { Phone } from './phones.ts';

// usync: what Baileys asks before sending (`devices` + `lid`: each account's devices, and its LID) and for
// `onWhatsApp` (`contact`: `+number` in, `type="in"` for numbers registered here, i.e. the simulator's phones).

function devicesNode(dir: Directory, phone: Phone | undefined): BinaryNode {
  const devices = phone ? endpointsOf(dir, phone) : [];
  return {
    tag: 'devices',
    attrs: {},
    content: [
      {
        tag: 'device-list',
        attrs: {},
        // Baileys drops non-zero devices without a key index; ours is the device number the phone signed.
        content: devices.map(({ device }) => ({ tag: 'device', attrs: { id: String(device), ...(device ? { 'key-index': String(device) } : {}) } })),
      },
    ],
  };
}

function userResult(dir: Directory, protocols: string[], user: BinaryNode): BinaryNode {
  const contact = getBinaryNodeChild(user, 'contact');
  const number = contact?.content ? Buffer.from(contact.content as Uint8Array).toString().replace(/^\+/, '') : undefined;
  const jid = user.attrs.jid ?? `${number}@s.whatsapp.net`;
  const phone = user.attrs.jid ? findPhone(dir, jid) : dir.phones.get(number ?? '');
  const content: BinaryNode[] = [];
  for (const protocol of protocols) {
    if (protocol === 'devices') content.push(devicesNode(dir, phone));
    // A LID is only news to someone who asked by phone number.
    if (protocol === 'lid' && phone && addressingOf(jid) === 'pn') content.push({ tag: 'lid', attrs: { val: `${phone.lid}@lid` } });
    if (protocol === 'contact') content.push({ tag: 'contact', attrs: { type: phone ? 'in' : 'out' }, ...(number ? { content: `+${number}` } : {}) });
  }
  return { tag: 'user', attrs: { jid }, content };
}

export function answerUsync(dir: Directory, iq: BinaryNode): BinaryNode[] {
  const usync = getBinaryNodeChild(iq, 'usync');
  const protocols = getBinaryNodeChildren(usync, 'query').flatMap((q) => (Array.isArray(q.content) ? q.content.map((p) => p.tag) : []));
  const users = getBinaryNodeChildren(getBinaryNodeChild(usync, 'list'), 'user');
  return [
    {
      tag: 'usync',
      attrs: { ...usync?.attrs, index: '0', last: 'true' },
      content: [{ tag: 'list', attrs: {}, content: users.map((user) => userResult(dir, protocols, user)) }],
    },
  ];
}
