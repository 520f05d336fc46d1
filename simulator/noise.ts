import { aesDecryptGCM, aesEncryptGCM, Curve, hkdf, NOISE_MODE, sha256 } from '@whiskeysockets/baileys';

type KeyPair = { private: Uint8Array; public: Uint8Array };

const ivOf = (counter: number) => {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(counter, 8);
  return iv;
};

// The responder's half of WhatsApp's Noise_XX_25519_AESGCM_SHA256 handshake, the mirror of Baileys'
// noise-handler: same running hash, same key mixing, transport keys swapped (the client writes with the first
// half of the final HKDF output and reads with the second).
export class NoiseResponder {
  #hash: Buffer;
  #salt: Buffer;
  #key: Buffer;
  #counter = 0;
  #send?: { key: Buffer; counter: number };
  #receive?: { key: Buffer; counter: number };

  constructor() {
    const mode = Buffer.from(NOISE_MODE);
    this.#hash = mode.length === 32 ? mode : sha256(mode);
    this.#salt = this.#hash;
    this.#key = this.#hash;
  }

  get established(): boolean {
    return this.#send !== undefined;
  }

  mixHash(data: Uint8Array): void {
    if (!this.#send) this.#hash = sha256(Buffer.concat([this.#hash, data]));
  }

  mixKey(secret: Uint8Array): void {
    const out = Buffer.from(hkdf(Buffer.from(secret), 64, { salt: this.#salt, info: '' }));
    this.#salt = out.subarray(0, 32);
    this.#key = out.subarray(32);
    this.#counter = 0;
  }

  dh(own: KeyPair, theirs: Uint8Array): void {
    this.mixKey(Curve.sharedKey(own.private, theirs));
  }

  encryptHandshake(plaintext: Uint8Array): Buffer {
    const out = aesEncryptGCM(plaintext, this.#key, ivOf(this.#counter++), this.#hash);
    this.mixHash(out);
    return out;
  }

  decryptHandshake(ciphertext: Uint8Array): Buffer {
    const out = aesDecryptGCM(ciphertext, this.#key, ivOf(this.#counter++), this.#hash);
    this.mixHash(ciphertext);
    return out;
  }

  finish(): void {
    const out = Buffer.from(hkdf(Buffer.alloc(0), 64, { salt: this.#salt, info: '' }));
    this.#receive = { key: out.subarray(0, 32), counter: 0 };
    this.#send = { key: out.subarray(32), counter: 0 };
  }

  encrypt(plaintext: Uint8Array): Buffer {
    const state = this.#send!;
    return aesEncryptGCM(plaintext, state.key, ivOf(state.counter++), Buffer.alloc(0));
  }

  decrypt(ciphertext: Uint8Array): Buffer {
    const state = this.#receive!;
    return aesDecryptGCM(ciphertext, state.key, ivOf(state.counter++), Buffer.alloc(0));
  }
}

// WhatsApp's transport frames: a 3-byte big-endian length, then the payload.
export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(3 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out.set(payload, 3);
  return out;
}

export class FrameReader {
  #buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    const frames: Buffer[] = [];
    while (this.#buffer.length >= 3) {
      const size = this.#buffer.readUIntBE(0, 3);
      if (this.#buffer.length < 3 + size) break;
      frames.push(this.#buffer.subarray(3, 3 + size));
      this.#buffer = this.#buffer.subarray(3 + size);
    }
    return frames;
  }
}
