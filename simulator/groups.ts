import { randomInt } from 'node:crypto';
import { getBinaryNodeChild, getBinaryNodeChildren, jidDecode, type BinaryNode } from '@whiskeysockets/baileys';
import { findPhone, type Directory } from './directory.ts';
import type { Phone } from './phones.ts';

// Minimal `w:g2`: groups with a subject and participants (PN-addressed), listed for their members and described
// on request; a companion can create one too.

export interface Group {
  jid: string;
  subject: string;
  creator: Phone;
  participants: Phone[];
  creation: number;
}

export class GroupStore {
  readonly #groups = new Map<string, Group>();

  create(subject: string, creator: Phone, participants: Phone[]): Group {
    const jid = `120363${randomInt(10 ** 11, 10 ** 12)}@g.us`;
    const members = [creator, ...participants.filter((p) => p !== creator)];
    const group = { jid, subject, creator, participants: members, creation: Math.floor(Date.now() / 1000) };
    this.#groups.set(jid, group);
    return group;
  }

  get(jid: string): Group | undefined {
    return this.#groups.get(jid);
  }

  of(phone: Phone): Group[] {
    return [...this.#groups.values()].filter((g) => g.participants.includes(phone));
  }
}

export function groupNode(group: Group): BinaryNode {
  return {
    tag: 'group',
    attrs: {
      id: jidDecode(group.jid)!.user,
      subject: group.subject,
      s_o: group.creator.jid,
      s_t: String(group.creation),
      creator: group.creator.jid,
      creation: String(group.creation),
      size: String(group.participants.length),
      addressing_mode: 'pn',
    },
    content: group.participants.map((p) => ({
      tag: 'participant',
      attrs: { jid: p.jid, lid: `${p.lid}@lid`, ...(p === group.creator ? { type: 'superadmin' } : {}) },
    })),
  };
}

const notFound: BinaryNode = { tag: 'error', attrs: { code: '404', text: 'item-not-found' } };

export function answerGroups(store: GroupStore, dir: Directory, requester: Phone, iq: BinaryNode): BinaryNode[] | undefined {
  if (getBinaryNodeChild(iq, 'participating')) {
    return [{ tag: 'groups', attrs: {}, content: store.of(requester).map(groupNode) }];
  }
  if (getBinaryNodeChild(iq, 'query')) {
    const group = store.get(iq.attrs.to ?? '');
    return [group?.participants.includes(requester) ? groupNode(group) : notFound];
  }
  const create = getBinaryNodeChild(iq, 'create');
  if (create) {
    const members = getBinaryNodeChildren(create, 'participant').flatMap((p) => findPhone(dir, p.attrs.jid) ?? []);
    return [groupNode(store.create(create.attrs.subject ?? '', requester, members))];
  }
  return undefined;
}
