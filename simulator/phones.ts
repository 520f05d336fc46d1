import { createHmac, randomInt } from 'node:crypto';
import { Curve, proto } from '@whiskeysockets/baileys';

type KeyPair = { private: Uint8Array; public: Uint8Array };

export interface BusinessProfile {
  description: string;
  category: string;
  email?: string;
  website?: string;
  address?: string;
}

// `lastSeen`: Unix seconds, set when the phone goes offline.
export interface PhonePresence {
  state: 'available' | 'unavailable';
  lastSeen?: number;
}

// What a phone needs from a companion to sign it in: read from its QR, or agreed through a pairing code.
export interface CompanionKeys {
  identityKey: Uint8Array;
  advSecret: Uint8Array;
}

const ACCOUNT_SIGNATURE_PREFIX = Buffer.from([6, 0]);

// A simulated WhatsApp account: a phone number, a LID, and the account identity key that signs its
// companions (linked devices).
export class Phone {
  readonly number: string;
  readonly lid: string;
  readonly identity = Curve.generateKeyPair() as KeyPair;
  // What the phone's user set up: the name sent along with every message (`notify`), a profile picture, a
  // business profile (a WhatsApp Business account), and whether they are online now.
  pushName?: string;
  pictureUrl?: string;
  business?: BusinessProfile;
  presence: PhonePresence = { state: 'unavailable' };
  #nextDevice = 1;

  constructor(number: string) {
    this.number = number;
    this.lid = String(randomInt(10 ** 13, 10 ** 14));
  }

  get jid(): string {
    return `${this.number}@s.whatsapp.net`;
  }

  // What the phone does on linking a companion: it allots a device number and signs the companion into its
  // account — an XEdDSA account signature over the device details and the companion's identity key, wrapped in
  // an HMAC under the adv secret (Baileys checks both).
  link(companion: CompanionKeys, now = Math.floor(Date.now() / 1000)): { device: number; deviceIdentity: Uint8Array } {
    const device = this.#nextDevice++;
    const deviceDetails = proto.ADVDeviceIdentity.encode({ rawId: randomInt(2 ** 31), timestamp: now, keyIndex: device }).finish();
    const accountSignature = Curve.sign(this.identity.private, Buffer.concat([ACCOUNT_SIGNATURE_PREFIX, deviceDetails, companion.identityKey]));
    const details = proto.ADVSignedDeviceIdentity.encode({
      details: deviceDetails,
      accountSignatureKey: this.identity.public,
      accountSignature,
    }).finish();
    const hmac = createHmac('sha256', companion.advSecret).update(details).digest();
    return { device, deviceIdentity: proto.ADVSignedDeviceIdentityHMAC.encode({ details, hmac }).finish() };
  }
}
