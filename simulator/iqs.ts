import { getBinaryNodeChild, getBinaryNodeChildren, type BinaryNode } from '@whiskeysockets/baileys';
import type { AppStateHub } from './app-state.ts';
import { deviceKey, findEndpoint, type Endpoint } from './directory.ts';
import { answerGroups } from './groups.ts';
import { bundleNode } from './prekeys.ts';
import { answerBusinessProfile, answerProfilePicture } from './profiles.ts';
import type { Network, Router } from './routing.ts';
import { answerUsync } from './usync.ts';

// Answers to a logged-in device's iqs, by namespace. Undefined means an empty `type="result"`, which is all
// Baileys needs for the rest.

async function answerEncrypt(net: Network, router: Router, requester: Endpoint, iq: BinaryNode): Promise<BinaryNode[] | undefined> {
  const device = deviceKey(requester);
  if (iq.attrs.type === 'set') {
    const rotate = getBinaryNodeChild(iq, 'rotate');
    if (rotate) net.prekeys.rotate(device, getBinaryNodeChild(rotate, 'skey'));
    else net.prekeys.upload(device, iq);
    return undefined;
  }
  if (getBinaryNodeChild(iq, 'count')) return [{ tag: 'count', attrs: { value: String(net.prekeys.count(device)) } }];
  // Without a digest Baileys uploads its keys again, which is what a device the server does not know should do.
  if (getBinaryNodeChild(iq, 'digest')) return net.prekeys.has(device) ? [{ tag: 'digest', attrs: {} }] : undefined;
  const users: BinaryNode[] = [];
  for (const user of getBinaryNodeChildren(getBinaryNodeChild(iq, 'key'), 'user')) {
    const jid = user.attrs.jid ?? '';
    net.prekeys.fetches.push({ by: device, of: jid, ...(user.attrs.reason ? { reason: user.attrs.reason } : {}), at: Date.now() });
    const endpoint = findEndpoint(net, jid);
    if (!endpoint) continue;
    const bundle = endpoint.device === 0 ? await router.phones.handset(endpoint.phone).signal.bundle() : net.prekeys.take(deviceKey(endpoint));
    if (bundle) users.push(bundleNode(jid, bundle));
  }
  return [{ tag: 'list', attrs: {}, content: users }];
}

// Read receipts go out as `read` only when the account's privacy setting says so.
const privacy: BinaryNode[] = [
  {
    tag: 'privacy',
    attrs: {},
    content: ['readreceipts', 'last', 'online', 'profile', 'status', 'groupadd'].map((name) => ({
      tag: 'category',
      attrs: { name, value: name === 'readreceipts' ? 'all' : 'contacts' },
    })),
  },
];

// A companion issuing its account's privacy token to contacts (`privacy` set with `tokens`), as WhatsApp Web does
// after a one-to-one message at most once a week per contact.
export interface TokenIssue {
  by: string;
  to: string[];
  at: number;
}

export async function answerIq(
  net: Network & { readonly appState: AppStateHub; readonly tokenIssues: TokenIssue[] },
  router: Router,
  requester: Endpoint,
  iq: BinaryNode,
): Promise<BinaryNode[] | undefined> {
  switch (iq.attrs.xmlns) {
    case 'encrypt':
      return answerEncrypt(net, router, requester, iq);
    case 'usync':
      return answerUsync(net, iq);
    case 'w:g2':
      return answerGroups(net.groups, net, requester.phone, iq);
    case 'w:profile:picture':
      return iq.attrs.type === 'get' ? answerProfilePicture(net, iq) : undefined;
    case 'w:biz':
      return getBinaryNodeChild(iq, 'business_profile') ? answerBusinessProfile(net, iq) : undefined;
    case 'w:sync:app:state':
      return net.appState.answer(requester, iq);
    case 'w:m':
      return getBinaryNodeChild(iq, 'media_conn') ? [net.media.mediaConn()] : undefined;
    case 'privacy': {
      const tokens = iq.attrs.type === 'set' ? getBinaryNodeChild(iq, 'tokens') : undefined;
      if (tokens) {
        const to = getBinaryNodeChildren(tokens, 'token').map((token) => token.attrs.jid!);
        net.tokenIssues.push({ by: deviceKey(requester), to, at: Date.now() });
      }
      return iq.attrs.type === 'get' && getBinaryNodeChild(iq, 'privacy') ? privacy : undefined;
    }
    default:
      return undefined;
  }
}
