import {
  encodeBigEndian,
  generateSignalPubKey,
  getBinaryNodeChild,
  getBinaryNodeChildBuffer,
  getBinaryNodeChildren,
  getBinaryNodeChildUInt,
  KEY_BUNDLE_TYPE,
  type BinaryNode,
} from '@whiskeysockets/baileys';

// The server's half of Signal session set-up: each companion uploads its registration id, identity key, signed
// pre-key and a batch of one-time pre-keys (`encrypt` iqs); whoever wants to start a session fetches a bundle,
// and the one-time pre-key in it is handed out once.

export interface KeyBundle {
  registrationId: number;
  identity: Uint8Array;
  signedPreKey: { keyId: number; public: Uint8Array; signature: Uint8Array };
  preKey?: { keyId: number; public: Uint8Array };
}

// A companion asked for a bundle (`<iq xmlns="encrypt" type="get"><key><user jid>`): each answer starts a new Signal
// session with `of` and, for a companion, uses up one of its one-time pre-keys — what a client that kept its
// sessions should not need to do again. `reason: 'identity'` is Baileys forcing a fresh session over an existing one.
export interface KeyFetch {
  // The asking device (`<number>:<device>@s.whatsapp.net`) and the jid it asked for, as it asked.
  by: string;
  of: string;
  reason?: string;
  // Date.now() when asked.
  at: number;
}

interface Uploaded extends Omit<KeyBundle, 'preKey'> {
  preKeys: Map<number, Uint8Array>;
}

function signedPreKeyOf(node: BinaryNode | undefined): KeyBundle['signedPreKey'] | undefined {
  const keyId = node && getBinaryNodeChildUInt(node, 'id', 3);
  const pub = getBinaryNodeChildBuffer(node, 'value');
  const signature = getBinaryNodeChildBuffer(node, 'signature');
  return keyId !== undefined && pub && signature ? { keyId, public: pub, signature } : undefined;
}

export class PreKeyStore {
  readonly #devices = new Map<string, Uploaded>();
  // What a new companion told the server when it registered (its pairing payload): enough for a session without a
  // one-time pre-key, so its phone can write to it before it has uploaded any.
  readonly #registered = new Map<string, KeyBundle>();
  // Every bundle fetch since the simulator started (`GET /control/key-fetches`).
  readonly fetches: KeyFetch[] = [];

  register(device: string, bundle: Omit<KeyBundle, 'preKey'>): void {
    this.#registered.set(device, bundle);
  }

  // `<iq xmlns="encrypt" type="set">` with registration, identity, a list of keys and the signed pre-key.
  upload(device: string, iq: BinaryNode): void {
    const registrationId = getBinaryNodeChildUInt(iq, 'registration', 4);
    const identity = getBinaryNodeChildBuffer(iq, 'identity');
    const signedPreKey = signedPreKeyOf(getBinaryNodeChild(iq, 'skey'));
    if (registrationId === undefined || !identity || !signedPreKey) throw new Error(`incomplete pre-key upload from ${device}`);
    const known = this.#devices.get(device);
    // A new identity means a re-registered device: its old one-time keys are worthless.
    const preKeys = known && Buffer.compare(known.identity, identity) === 0 ? known.preKeys : new Map<number, Uint8Array>();
    for (const key of getBinaryNodeChildren(getBinaryNodeChild(iq, 'list'), 'key')) {
      const keyId = getBinaryNodeChildUInt(key, 'id', 3);
      const pub = getBinaryNodeChildBuffer(key, 'value');
      if (keyId !== undefined && pub) preKeys.set(keyId, pub);
    }
    this.#devices.set(device, { registrationId, identity, signedPreKey, preKeys });
  }

  rotate(device: string, skey: BinaryNode | undefined): void {
    const known = this.#devices.get(device);
    const signedPreKey = signedPreKeyOf(skey);
    if (known && signedPreKey) known.signedPreKey = signedPreKey;
  }

  count(device: string): number {
    return this.#devices.get(device)?.preKeys.size ?? 0;
  }

  has(device: string): boolean {
    return this.#devices.has(device);
  }

  forget(device: string): void {
    this.#devices.delete(device);
    this.#registered.delete(device);
  }

  // A bundle for starting a session with `device`; its one-time pre-key (while any are left) is consumed.
  take(device: string): KeyBundle | undefined {
    const known = this.#devices.get(device);
    if (!known) return this.#registered.get(device);
    const { registrationId, identity, signedPreKey, preKeys } = known;
    const next = preKeys.entries().next();
    if (next.done) return { registrationId, identity, signedPreKey };
    preKeys.delete(next.value[0]);
    return { registrationId, identity, signedPreKey, preKey: { keyId: next.value[0], public: next.value[1] } };
  }
}

const child = (tag: string, content: Uint8Array): BinaryNode => ({ tag, attrs: {}, content });

// What Baileys' parseAndInjectE2ESessions reads for one device.
export function bundleNode(jid: string, bundle: KeyBundle): BinaryNode {
  const { registrationId, identity, signedPreKey, preKey } = bundle;
  return {
    tag: 'user',
    attrs: { jid },
    content: [
      child('registration', encodeBigEndian(registrationId, 4)),
      child('type', KEY_BUNDLE_TYPE),
      child('identity', identity),
      {
        tag: 'skey',
        attrs: {},
        content: [child('id', encodeBigEndian(signedPreKey.keyId, 3)), child('value', signedPreKey.public), child('signature', signedPreKey.signature)],
      },
      ...(preKey ? [{ tag: 'key', attrs: {}, content: [child('id', encodeBigEndian(preKey.keyId, 3)), child('value', preKey.public)] }] : []),
    ],
  };
}

// The same bundle as libsignal's SessionBuilder takes it (33-byte keys with the type prefix).
export function sessionOf(bundle: KeyBundle) {
  return {
    registrationId: bundle.registrationId,
    identityKey: generateSignalPubKey(bundle.identity),
    signedPreKey: { keyId: bundle.signedPreKey.keyId, publicKey: generateSignalPubKey(bundle.signedPreKey.public), signature: bundle.signedPreKey.signature },
    ...(bundle.preKey ? { preKey: { keyId: bundle.preKey.keyId, publicKey: generateSignalPubKey(bundle.preKey.public) } } : {}),
  };
}
