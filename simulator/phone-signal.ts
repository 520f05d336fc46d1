import {
  Curve,
  decryptMessageNode,
  encodeWAMessage,
  initAuthCreds,
  signedKeyPair,
  type AuthenticationCreds,
  proto,
  type BinaryNode,
  type SignalKeyStoreWithTransaction,
} from '@whiskeysockets/baileys';
import { makeLibSignalRepository } from '@whiskeysockets/baileys/lib/Signal/libsignal.js';
import { pino } from 'pino';
import { memoryAuth } from './memory-auth.ts';
import { sessionOf, type KeyBundle } from './prekeys.ts';

type KeyPair = { private: Uint8Array; public: Uint8Array };

export interface Sealed {
  type: 'pkmsg' | 'msg';
  ciphertext: Uint8Array;
}

// A member's device (a LID jid) a group message goes to, and where a session with it would start from.
export interface GroupDevice {
  jid: string;
  bundle: () => KeyBundle | undefined;
}

const silent = pino({ level: 'silent' });

// A phone's own Signal identity as device 0 of its account. It is Baileys' libsignal repository over an in-memory
// store, so the phone decrypts exactly what a companion would and its ciphertext is what companions expect.
// The account identity key (which signs companions) doubles as the Signal identity, as on a real phone. Every
// operation runs in turn: two interleaved ratchet steps on one session would corrupt it.
export class PhoneSignal {
  readonly #creds: AuthenticationCreds;
  readonly #keys: SignalKeyStoreWithTransaction;
  readonly #repository;
  readonly #me: { id: string; lid: string };
  #nextPreKeyId = 1;
  // Per group, the devices that were given this phone's sender key: it lives in this store and goes with it.
  readonly #senderKeyHolders = new Map<string, Set<string>>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(identity: KeyPair, jid: string, lid: string) {
    this.#creds = { ...initAuthCreds(), signedIdentityKey: identity, signedPreKey: signedKeyPair(identity, 1) };
    const { keys } = memoryAuth();
    this.#keys = { ...keys, isInTransaction: () => false, transaction: (exec) => exec() };
    this.#repository = makeLibSignalRepository({ creds: this.#creds, keys: this.#keys }, silent);
    this.#me = { id: jid, lid };
  }

  #inTurn<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  // A bundle with a fresh one-time pre-key: a phone never runs out.
  bundle(): Promise<KeyBundle> {
    return this.#inTurn(async () => {
      const keyId = this.#nextPreKeyId++;
      const pair = Curve.generateKeyPair();
      await this.#keys.set({ 'pre-key': { [keyId]: pair } });
      const { keyPair, signature } = this.#creds.signedPreKey;
      return {
        registrationId: this.#creds.registrationId,
        identity: this.#creds.signedIdentityKey.public,
        signedPreKey: { keyId: this.#creds.signedPreKey.keyId, public: keyPair.public, signature },
        preKey: { keyId, public: pair.public },
      };
    });
  }

  // Decrypts a `<message>` stanza addressed to this phone, as Baileys' own receive path does (pkmsg, msg, and
  // skmsg with the sender keys distributed before it). Undefined when it cannot be decrypted.
  open(stanza: BinaryNode): Promise<{ message: proto.IMessage; fromMe: boolean } | undefined> {
    return this.#inTurn(async () => {
      const { fullMessage, decrypt } = decryptMessageNode(stanza, this.#me.id, this.#me.lid, this.#repository, silent);
      await decrypt();
      // Baileys marks what it could not decrypt instead of throwing: a phone that drops it silently hides the failure.
      if (fullMessage.messageStubType === proto.WebMessageInfo.StubType.CIPHERTEXT) throw new Error(`undecryptable: ${fullMessage.messageStubParameters?.join(', ')}`);
      return fullMessage.message ? { message: fullMessage.message, fromMe: !!fullMessage.key.fromMe } : undefined;
    });
  }

  // Encrypts for one device (a LID jid), starting a session from `bundle()` when there is none yet.
  seal(jid: string, message: proto.IMessage, bundle: () => KeyBundle | undefined): Promise<Sealed | undefined> {
    return this.#inTurn(() => this.#sealNow(jid, message, bundle));
  }

  // Encrypts a group message once with this phone's sender key (`skmsg`), and, for each device that has not had
  // that key yet, the key's distribution message pairwise (the sender-key memory Baileys keeps too). One turn for
  // it all, so a later message never reaches a device before the key it needs.
  sealGroup(group: string, message: proto.IMessage, devices: GroupDevice[]): Promise<{ ciphertext: Uint8Array; keys: Map<string, Sealed> }> {
    return this.#inTurn(async () => {
      const { ciphertext, senderKeyDistributionMessage } = await this.#repository.encryptGroupMessage({ group, meId: this.#me.id, data: encodeWAMessage(message) });
      const distribution: proto.IMessage = { senderKeyDistributionMessage: { groupId: group, axolotlSenderKeyDistributionMessage: senderKeyDistributionMessage } };
      let holders = this.#senderKeyHolders.get(group);
      if (!holders) this.#senderKeyHolders.set(group, (holders = new Set()));
      const keys = new Map<string, Sealed>();
      for (const { jid, bundle } of devices) {
        if (holders.has(jid)) continue;
        const sealed = await this.#sealNow(jid, distribution, bundle);
        if (!sealed) continue;
        keys.set(jid, sealed);
        holders.add(jid);
      }
      return { ciphertext, keys };
    });
  }

  async #sealNow(jid: string, message: proto.IMessage, bundle: () => KeyBundle | undefined): Promise<Sealed | undefined> {
    if (!(await this.#repository.validateSession(jid)).exists) {
      const found = bundle();
      if (!found) return undefined;
      await this.#repository.injectE2ESession({ jid, session: sessionOf(found) });
    }
    return this.#repository.encryptMessage({ jid, data: encodeWAMessage(message) });
  }
}
