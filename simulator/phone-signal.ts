import {
  Curve,
  decryptMessageNode,
  encodeWAMessage,
  initAuthCreds,
  signedKeyPair,
  type AuthenticationCreds,
  type BinaryNode,
  type proto,
  type SignalKeyStoreWithTransaction,
} from '@whiskeysockets/baileys';
import { makeLibSignalRepository } from '@whiskeysockets/baileys/lib/Signal/libsignal.js';
import { pino } from 'pino';
import { memoryAuth } from './memory-auth.ts';
import { sessionOf, type KeyBundle } from './prekeys.ts';

type KeyPair = { private: Uint8Array; public: Uint8Array };

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
      return fullMessage.message ? { message: fullMessage.message, fromMe: !!fullMessage.key.fromMe } : undefined;
    });
  }

  // Encrypts for one device (a LID jid), starting a session from `bundle()` when there is none yet.
  seal(jid: string, message: proto.IMessage, bundle: () => KeyBundle | undefined): Promise<{ type: 'pkmsg' | 'msg'; ciphertext: Uint8Array } | undefined> {
    return this.#inTurn(async () => {
      if (!(await this.#repository.validateSession(jid)).exists) {
        const found = bundle();
        if (!found) return undefined;
        await this.#repository.injectE2ESession({ jid, session: sessionOf(found) });
      }
      return this.#repository.encryptMessage({ jid, data: encodeWAMessage(message) });
    });
  }
}
