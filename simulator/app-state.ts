import { randomBytes, randomInt } from 'node:crypto';
import {
  chatModificationToAppPatch,
  encodeSyncdPatch,
  getBinaryNodeChild,
  getBinaryNodeChildren,
  newLTHashState,
  proto,
  type BinaryNode,
  type LTHashState,
  type WAPatchCreate,
} from '@whiskeysockets/baileys';
import { deviceKey, endpointsOf, findPhone, type Endpoint } from './directory.ts';
import { notificationKey } from './mailbox.ts';
import type { Phone } from './phones.ts';
import type { Network, Router } from './routing.ts';

// App-state sync: the account's own data (here, the phone's address book) as encrypted, MAC'd patches that every
// companion pulls from the server. The phone holds the app-state sync key; it shares it with its companions in a
// `peer` protocol message (APP_STATE_SYNC_KEY_SHARE), writes each change as a patch to a collection
// (`critical_unblock_low` for contacts), and the server keeps the patches, tells companions a collection changed
// (`<notification type="server_sync">`) and answers their `w:sync:app:state` iqs with the patches they lack.
// Patches are made with Baileys' own `encodeSyncdPatch`, so MACs and the LT hash are what a real phone produces.
// Snapshots are never sent (WhatsApp serves them as media blobs over HTTPS): a companion syncing from scratch gets
// every patch from version 1 instead, which Baileys folds the same way.

export interface AddressBookEntry {
  number: string;
  name: string;
}

interface Collection {
  state: LTHashState;
  patches: { version: number; bytes: Uint8Array }[];
}

class Account {
  readonly keyId = randomBytes(6).toString('base64');
  readonly key: proto.Message.IAppStateSyncKeyData = {
    keyData: randomBytes(32),
    fingerprint: { rawId: randomInt(2 ** 31), currentIndex: 0, deviceIndexes: [0] },
    timestamp: Date.now(),
  };
  readonly collections = new Map<string, Collection>();
  // Number → name, as the phone's user saved them.
  readonly addressBook = new Map<string, string>();
  // Companions the key was shared with (device keys): only they are told of changes.
  readonly keyHolders = new Set<string>();
  // Patches are chained (each builds on the previous LT hash), so changes are written one at a time.
  writing: Promise<unknown> = Promise.resolve();
}

const CONTACTS = 'critical_unblock_low';
const now = () => String(Math.floor(Date.now() / 1000));

export class AppStateHub {
  readonly #net: Network;
  readonly #router: Router;
  readonly #accounts = new Map<string, Account>();
  // Per new companion: its key share (and the notices behind it) on the way to its mailbox.
  readonly #sharing = new Map<string, Promise<void>>();

  constructor(net: Network, router: Router) {
    this.#net = net;
    this.#router = router;
  }

  #account(phone: Phone): Account {
    let account = this.#accounts.get(phone.number);
    if (!account) this.#accounts.set(phone.number, (account = new Account()));
    return account;
  }

  // The phone sends its key to a companion, in the companion's mailbox before anything that needs it. (One it
  // could not encrypt for is not a key holder, and is not told of changes it could not read.)
  #share(account: Account, companion: Endpoint): Promise<void> {
    const message: proto.IMessage = {
      protocolMessage: {
        type: proto.Message.ProtocolMessage.Type.APP_STATE_SYNC_KEY_SHARE,
        appStateSyncKeyShare: { keys: [{ keyId: { keyId: Buffer.from(account.keyId, 'base64') }, keyData: account.key }] },
      },
    };
    return this.#router.phones.peer(companion.phone, companion, message).then((sent) => void (sent && account.keyHolders.add(deviceKey(companion))));
  }

  // A companion was just linked: if the account has app state, the phone shares its key and the companion is told
  // which collections hold data. (A phone shares its key only once it has something to sync, so companions of
  // phones without an address book log in as before; a real phone always shares it.)
  linked(companion: Endpoint): void {
    const account = this.#accounts.get(companion.phone.number);
    if (!account?.collections.size) return;
    const device = deviceKey(companion);
    const sharing = (async () => {
      await this.#share(account, companion);
      if (!account.keyHolders.has(device)) return;
      for (const [name, collection] of account.collections) this.#tell(companion, name, collection.state.version);
    })();
    this.#sharing.set(device, sharing.finally(() => this.#sharing.delete(device)));
  }

  // Settles once what the phone sent a new companion is in its mailbox, so it is part of the companion's first login.
  ready(device: string): Promise<void> {
    return this.#sharing.get(device) ?? Promise.resolve();
  }

  addressBook(phone: Phone): AddressBookEntry[] {
    return [...this.#account(phone).addressBook].map(([number, name]) => ({ number, name }));
  }

  // The phone's user saves, renames and deletes contacts until the address book is `entries`: one patch per change.
  setAddressBook(phone: Phone, entries: AddressBookEntry[]): Promise<void> {
    const account = this.#account(phone);
    const wanted = new Map(entries.map((e) => [e.number, e.name]));
    const write = account.writing.then(async () => {
      const patches: WAPatchCreate[] = [];
      for (const [number, name] of wanted) {
        if (account.addressBook.get(number) === name) continue;
        const jid = `${number}@s.whatsapp.net`;
        // The phone knows the LID of a contact on WhatsApp and records it with the name.
        const lid = findPhone(this.#net, jid)?.lid;
        patches.push(chatModificationToAppPatch({ contact: { fullName: name, firstName: name.split(' ')[0], ...(lid ? { lidJid: `${lid}@lid` } : {}), saveOnPrimaryAddressbook: true } }, jid));
      }
      for (const number of account.addressBook.keys()) {
        if (!wanted.has(number)) patches.push(chatModificationToAppPatch({ contact: null }, `${number}@s.whatsapp.net`));
      }
      for (const patch of patches) await this.#write(account, patch);
      account.addressBook.clear();
      for (const [number, name] of wanted) account.addressBook.set(number, name);
      const contacts = account.collections.get(CONTACTS);
      if (!patches.length || !contacts) return;
      for (const endpoint of endpointsOf(this.#net, phone)) {
        if (endpoint.device === 0) continue;
        // Live, the key share and the notice may be handled in either order: Baileys parks a collection whose key
        // it lacks and syncs it again when the key arrives, and both take the same key-store lock.
        if (!account.keyHolders.has(deviceKey(endpoint))) await this.#share(account, endpoint);
        if (account.keyHolders.has(deviceKey(endpoint))) this.#tell(endpoint, CONTACTS, contacts.state.version);
      }
    });
    account.writing = write.catch(() => undefined);
    return write;
  }

  async #write(account: Account, patch: WAPatchCreate): Promise<void> {
    const collection = account.collections.get(patch.type) ?? { state: newLTHashState(), patches: [] };
    const encoded = await encodeSyncdPatch(patch, account.keyId, collection.state, async (id) =>
      id === account.keyId ? proto.Message.AppStateSyncKeyData.fromObject(account.key) : undefined,
    );
    const { version } = encoded.state;
    collection.patches.push({ version, bytes: proto.SyncdPatch.encode({ ...encoded.patch, version: { version } }).finish() });
    collection.state = encoded.state;
    account.collections.set(patch.type, collection);
  }

  // `server_sync`: the collection changed; kept in the mailbox like any stanza, so an offline companion hears of it
  // at its next login (after the key share, which was put there first).
  #tell(endpoint: Endpoint, name: string, version: number): void {
    const id = randomBytes(8).toString('hex');
    this.#router.toCompanion(endpoint, notificationKey(id), {
      tag: 'notification',
      attrs: { from: 's.whatsapp.net', type: 'server_sync', id, t: now() },
      content: [{ tag: 'collection', attrs: { name, version: String(version) } }],
    });
  }

  // `<iq xmlns="w:sync:app:state"><sync><collection name version return_snapshot/>…`: per collection, the patches
  // after the version the companion has (none, and the current version, for a collection without data).
  answer(requester: Endpoint, iq: BinaryNode): BinaryNode[] {
    const account = this.#accounts.get(requester.phone.number);
    const asked = getBinaryNodeChildren(getBinaryNodeChild(iq, 'sync'), 'collection');
    const collections = asked.map((node): BinaryNode => {
      const name = node.attrs.name ?? '';
      const from = Number(node.attrs.version ?? 0);
      const collection = account?.collections.get(name);
      const patches = collection?.patches.filter((p) => p.version > from) ?? [];
      const attrs = { name, version: String(collection?.state.version ?? 0) };
      if (!patches.length) return { tag: 'collection', attrs };
      return { tag: 'collection', attrs, content: [{ tag: 'patches', attrs: {}, content: patches.map((p) => ({ tag: 'patch', attrs: {}, content: p.bytes })) }] };
    });
    return [{ tag: 'sync', attrs: {}, content: collections }];
  }
}
