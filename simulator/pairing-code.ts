import { createCipheriv, createDecipheriv, hkdfSync, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Curve, getBinaryNodeChild, getBinaryNodeChildBuffer, jidDecode, type BinaryNode } from '@whiskeysockets/baileys';
import type { CompanionKeys, Phone } from './phones.ts';

// Linking by pairing code (Baileys `requestPairingCode`), the phone's and the server's side. The companion and
// the phone each hide an ephemeral X25519 key under the 8-character code; the companion then sends the phone a key
// bundle sealed with their shared secret, and both derive the adv secret that the QR would otherwise carry. The
// crypto is written from node:crypto rather than Baileys' helpers, so the two sides check each other.

type KeyPair = { private: Uint8Array; public: Uint8Array };
const pbkdf2Async = promisify(pbkdf2);

// PBKDF2-SHA256 with 2 << 16 iterations stretches the code; the wrapping is salt(32) ‖ iv(16) ‖ AES-256-CTR(pub).
// CTR has no tag, so a wrong code goes unnoticed until the key bundle fails to open.
async function codeKey(code: string, salt: Buffer): Promise<Buffer> {
  return pbkdf2Async(code, salt, 2 << 16, 32, 'sha256');
}

async function wrapWithCode(code: string, publicKey: Uint8Array): Promise<Buffer> {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', await codeKey(code, salt), iv);
  return Buffer.concat([salt, iv, cipher.update(publicKey), cipher.final()]);
}

async function unwrapWithCode(code: string, wrapped: Buffer): Promise<Buffer> {
  const decipher = createDecipheriv('aes-256-ctr', await codeKey(code, wrapped.subarray(0, 32)), wrapped.subarray(32, 48));
  return Buffer.concat([decipher.update(wrapped.subarray(48, 80)), decipher.final()]);
}

// The companion's bundle: salt(32) ‖ iv(12) ‖ AES-256-GCM(companion identity ‖ primary identity ‖ random, 32 bytes
// each) ‖ tag(16), under HKDF-SHA256(ephemeral shared secret, salt, "link_code_pairing_key_bundle_encryption_key").
function openKeyBundle(shared: Buffer, wrapped: Buffer): { companionIdentity: Buffer; primaryIdentity: Buffer; random: Buffer } | undefined {
  const key = Buffer.from(hkdfSync('sha256', shared, wrapped.subarray(0, 32), 'link_code_pairing_key_bundle_encryption_key', 32));
  const decipher = createDecipheriv('aes-256-gcm', key, wrapped.subarray(32, 44));
  decipher.setAuthTag(wrapped.subarray(-16));
  try {
    const bundle = Buffer.concat([decipher.update(wrapped.subarray(44, -16)), decipher.final()]);
    return { companionIdentity: bundle.subarray(0, 32), primaryIdentity: bundle.subarray(32, 64), random: bundle.subarray(64, 96) };
  } catch {
    return undefined;
  }
}

export type PairingCodeFailure = 'not-waiting' | 'wrong-code' | 'busy' | 'timeout';

export class PairingCodeError extends Error {
  readonly reason: PairingCodeFailure;
  constructor(reason: PairingCodeFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}

interface Sender {
  send(node: BinaryNode): void;
}

interface Attempt {
  phone: Phone;
  ephemeral: KeyPair;
  companionEphemeral: Buffer;
  settle: (outcome: CompanionKeys | PairingCodeError) => void;
}

interface Waiting<C extends Sender> {
  connection: C;
  ref: Buffer;
  wrappedEphemeral: Buffer;
  noiseKey: Buffer;
  attempt?: Attempt;
}

export interface CodeLinked<C> extends CompanionKeys {
  connection: C;
  noiseKey: Buffer;
}

const result = (node: BinaryNode, content?: BinaryNode[]): BinaryNode => ({
  tag: 'iq',
  attrs: { id: node.attrs.id!, type: 'result', from: 's.whatsapp.net' },
  ...(content ? { content } : {}),
});

// Companions waiting for their code to be entered, by the phone number they named.
export class PairingCodes<C extends Sender> {
  readonly #waiting = new Map<string, Waiting<C>>();

  // Handles a `link_code_companion_reg` iq; false for any other node.
  onIq(connection: C, node: BinaryNode): boolean {
    const reg = getBinaryNodeChild(node, 'link_code_companion_reg');
    if (node.tag !== 'iq' || !reg) return false;
    const number = jidDecode(reg.attrs.jid)?.user ?? '';
    if (reg.attrs.stage === 'companion_hello') {
      const wrappedEphemeral = getBinaryNodeChildBuffer(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub');
      const noiseKey = getBinaryNodeChildBuffer(reg, 'companion_server_auth_key_pub');
      if (!/^\d+$/.test(number) || wrappedEphemeral?.length !== 80 || !noiseKey) return this.#reject(connection, node);
      const ref = Buffer.from(randomBytes(16).toString('base64url'));
      this.#waiting.get(number)?.attempt?.settle(new PairingCodeError('not-waiting', 'the companion asked for a new code'));
      this.#waiting.set(number, { connection, ref, wrappedEphemeral: Buffer.from(wrappedEphemeral), noiseKey: Buffer.from(noiseKey) });
      connection.send(result(node, [{ tag: 'link_code_companion_reg', attrs: {}, content: [{ tag: 'link_code_pairing_ref', attrs: {}, content: ref }] }]));
      return true;
    }
    const waiting = this.#waiting.get(number);
    const ref = getBinaryNodeChildBuffer(reg, 'link_code_pairing_ref');
    const attempt = waiting?.attempt;
    if (reg.attrs.stage !== 'companion_finish' || !waiting || !attempt || waiting.connection !== connection || !ref || !waiting.ref.equals(ref)) {
      return this.#reject(connection, node);
    }
    waiting.attempt = undefined;
    const companionIdentity = getBinaryNodeChildBuffer(reg, 'companion_identity_public');
    const wrappedBundle = getBinaryNodeChildBuffer(reg, 'link_code_pairing_wrapped_key_bundle');
    const ephemeralShared = Curve.sharedKey(attempt.ephemeral.private, attempt.companionEphemeral);
    const bundle = wrappedBundle && wrappedBundle.length === 32 + 12 + 96 + 16 ? openKeyBundle(ephemeralShared, Buffer.from(wrappedBundle)) : undefined;
    if (!bundle || !companionIdentity || !bundle.companionIdentity.equals(companionIdentity) || !bundle.primaryIdentity.equals(attempt.phone.identity.public)) {
      // The companion stays waiting: the phone's user may type the code again.
      attempt.settle(new PairingCodeError('wrong-code', 'the key bundle does not open with that code'));
      return this.#reject(connection, node);
    }
    this.#waiting.delete(number);
    const identityShared = Curve.sharedKey(attempt.phone.identity.private, bundle.companionIdentity);
    const advSecret = Buffer.from(hkdfSync('sha256', Buffer.concat([ephemeralShared, identityShared, bundle.random]), Buffer.alloc(0), 'adv_secret', 32));
    connection.send(result(node));
    attempt.settle({ identityKey: bundle.companionIdentity, advSecret });
    return true;
  }

  // The phone's user types `code`: the phone answers the waiting companion with its own ephemeral key and identity
  // (`primary_hello`), then opens the key bundle the companion sends back.
  async enter(phone: Phone, code: string, timeoutMs = 10_000): Promise<CodeLinked<C>> {
    const waiting = this.#waiting.get(phone.number);
    if (!waiting) throw new PairingCodeError('not-waiting', `no companion is waiting for a code for ${phone.number}`);
    const typed = code.replace('-', '');
    if (typed.length !== 8) throw new PairingCodeError('wrong-code', 'a pairing code has 8 characters');
    const ephemeral = Curve.generateKeyPair() as KeyPair;
    const companionEphemeral = await unwrapWithCode(typed, waiting.wrappedEphemeral);
    const wrappedEphemeral = await wrapWithCode(typed, ephemeral.public);
    if (this.#waiting.get(phone.number) !== waiting) throw new PairingCodeError('not-waiting', 'the companion went away');
    if (waiting.attempt) throw new PairingCodeError('busy', `a code for ${phone.number} is already being checked`);
    const { promise, resolve } = Promise.withResolvers<CompanionKeys | PairingCodeError>();
    waiting.attempt = { phone, ephemeral, companionEphemeral, settle: resolve };
    waiting.connection.send({
      tag: 'notification',
      attrs: { from: 's.whatsapp.net', type: 'link_code_companion_reg', id: randomBytes(4).toString('hex'), t: String(Math.floor(Date.now() / 1000)) },
      content: [
        {
          tag: 'link_code_companion_reg',
          attrs: { stage: 'primary_hello' },
          content: [
            { tag: 'link_code_pairing_ref', attrs: {}, content: waiting.ref },
            { tag: 'link_code_pairing_wrapped_primary_ephemeral_pub', attrs: {}, content: wrappedEphemeral },
            { tag: 'primary_identity_pub', attrs: {}, content: Buffer.from(phone.identity.public) },
          ],
        },
      ],
    });
    const timer = setTimeout(() => {
      if (waiting.attempt?.settle === resolve) waiting.attempt = undefined;
      resolve(new PairingCodeError('timeout', 'the companion did not answer the phone'));
    }, timeoutMs);
    const outcome = await promise.finally(() => clearTimeout(timer));
    if (outcome instanceof PairingCodeError) throw outcome;
    return { ...outcome, connection: waiting.connection, noiseKey: waiting.noiseKey };
  }

  // A companion that disconnects can no longer be linked by its code.
  forget(connection: C): void {
    for (const [number, waiting] of this.#waiting) {
      if (waiting.connection !== connection) continue;
      this.#waiting.delete(number);
      waiting.attempt?.settle(new PairingCodeError('not-waiting', 'the companion disconnected'));
    }
  }

  #reject(connection: C, node: BinaryNode): true {
    connection.send({
      tag: 'iq',
      attrs: { id: node.attrs.id!, type: 'error', from: 's.whatsapp.net' },
      content: [{ tag: 'error', attrs: { code: '400', text: 'bad-request' } }],
    });
    return true;
  }
}
