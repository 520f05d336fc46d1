import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Curve,
  decodeBinaryNode,
  encodeBinaryNode,
  NOISE_WA_HEADER,
  proto,
  type BinaryNode,
} from '@whiskeysockets/baileys';
import { WebSocketServer, type WebSocket } from 'ws';
import { FrameReader, frame, NoiseResponder } from './noise.ts';
import { handleControl } from './control.ts';
import { PairingCodeError, PairingCodes } from './pairing-code.ts';
import { Phone, type CompanionKeys } from './phones.ts';
import { findEndpoint } from './directory.ts';
import { GroupStore, type Group } from './groups.ts';
import type { InboxEntry, ReceiptPolicy, SentEntry } from './handset.ts';
import type { PhoneSendOptions } from './phone-traffic.ts';
import type { OutgoingMedia } from './phone-media.ts';
import { createMediaServer } from './media-server.ts';
import { MediaStore } from './media-store.ts';
import { AppStateHub } from './app-state.ts';
import { answerIq, type TokenIssue } from './iqs.ts';
import { PreKeyStore } from './prekeys.ts';
import { PresenceHub } from './presence.ts';
import { ReachOutBook, parseReachOutPolicy, type ReachOutPolicy, type ReachOutState } from './reach-out.ts';
import { Router } from './routing.ts';

// A local server that speaks WhatsApp's Web protocol to the real Baileys client (`waWebSocketUrl`), for tests,
// benchmarks and the offline demo. This first part covers the transport (Noise handshake, framing, binary
// nodes) and QR issuance for a new device; pairing, login, messaging and faults build on it.

type KeyPair = { private: Uint8Array; public: Uint8Array };

export interface SimOptions {
  // How many QR refs a new device is offered before its QR attempts run out (Baileys then closes with 408).
  refsPerPairing?: number;
}

export interface ScannedQr {
  ref: string;
  noiseKey: Buffer;
  identityKey: Buffer;
  advSecret: Buffer;
  platform: string;
}

// What a phone reads from a linking QR: `https://wa.me/settings/linked_devices#ref,noiseKey,identityKey,advSecret,platform`
// (the adv secret lets the phone sign the pairing).
export function parseQr(qr: string): ScannedQr {
  const [ref, noiseKey, identityKey, advSecret, platform] = qr.slice(qr.indexOf('#') + 1).split(',');
  if (!ref || !noiseKey || !identityKey || !advSecret) throw new Error(`not a linking QR: ${qr}`);
  return {
    ref,
    noiseKey: Buffer.from(noiseKey, 'base64'),
    identityKey: Buffer.from(identityKey, 'base64'),
    advSecret: Buffer.from(advSecret, 'base64'),
    platform: platform ?? '',
  };
}

export interface IssuedRef {
  ref: string;
  connectionId: number;
}

// The server's long-term keys and certificate chain. rc14 checks the chain's shape and the intermediate's
// issuer serial (0); the leaf is signed properly by our intermediate, which no real WhatsApp root signs.
function makeIdentity() {
  const staticKey = Curve.generateKeyPair() as KeyPair;
  const intermediateKey = Curve.generateKeyPair() as KeyPair;
  const rootKey = Curve.generateKeyPair() as KeyPair;
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: 0,
    key: intermediateKey.public,
    notBefore: 0,
    notAfter: 4_000_000_000,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: staticKey.public,
    notBefore: 0,
    notAfter: 4_000_000_000,
  }).finish();
  const certChain = proto.CertChain.encode({
    leaf: { details: leafDetails, signature: Curve.sign(intermediateKey.private, leafDetails) },
    intermediate: { details: intermediateDetails, signature: Curve.sign(rootKey.private, intermediateDetails) },
  }).finish();
  return { staticKey, certChain };
}

class Connection {
  readonly id: number;
  readonly #socket: WebSocket;
  readonly #sim: WhatsAppSimulator;
  readonly #noise = new NoiseResponder();
  readonly #reader = new FrameReader();
  #introSeen = false;
  #stage: 'hello' | 'finish' | 'open' = 'hello';
  #ephemeral?: KeyPair;
  payload?: proto.ClientPayload;
  // The client's long-term Noise key, proven by the handshake: what a linked device logs in with.
  clientStatic?: Buffer;
  // Set once a linked device has logged in on this connection.
  deviceJid?: string;

  constructor(id: number, socket: WebSocket, sim: WhatsAppSimulator) {
    this.id = id;
    this.#socket = socket;
    this.#sim = sim;
    // Frames are decrypted with a counter, so each waits for the one before it, even across WebSocket messages.
    let previous = Promise.resolve();
    socket.on('message', (data: Buffer) => {
      previous = previous
        .then(() => this.#receive(data))
        .catch((err) => {
          sim.log(`connection ${id}: ${err instanceof Error ? err.stack : String(err)}`);
          socket.terminate();
        });
    });
  }

  async #receive(data: Buffer): Promise<void> {
    let chunk = data;
    if (!this.#introSeen) {
      // Optional routing prefix ("ED", 0, 1, 3-byte length, routing info), then the "WA" header.
      if (chunk.subarray(0, 2).toString() === 'ED') chunk = chunk.subarray(7 + chunk.readUIntBE(4, 3));
      const header = chunk.subarray(0, NOISE_WA_HEADER.length);
      if (!header.equals(NOISE_WA_HEADER)) throw new Error('not a WhatsApp Web connection');
      this.#noise.mixHash(header);
      chunk = chunk.subarray(header.length);
      this.#introSeen = true;
    }
    for (const payload of this.#reader.push(chunk)) await this.#onFrame(payload);
  }

  async #onFrame(payload: Buffer): Promise<void> {
    if (this.#stage === 'hello') {
      const { clientHello } = proto.HandshakeMessage.decode(payload);
      if (!clientHello?.ephemeral) throw new Error('expected clientHello');
      this.#noise.mixHash(clientHello.ephemeral);
      const ephemeral = Curve.generateKeyPair() as KeyPair;
      this.#ephemeral = ephemeral;
      this.#noise.mixHash(ephemeral.public);
      this.#noise.dh(ephemeral, clientHello.ephemeral);
      const staticEnc = this.#noise.encryptHandshake(this.#sim.identity.staticKey.public);
      this.#noise.dh(this.#sim.identity.staticKey, clientHello.ephemeral);
      const certEnc = this.#noise.encryptHandshake(this.#sim.identity.certChain);
      this.#sendRaw(proto.HandshakeMessage.encode({ serverHello: { ephemeral: ephemeral.public, static: staticEnc, payload: certEnc } }).finish());
      this.#stage = 'finish';
      return;
    }
    if (this.#stage === 'finish') {
      const { clientFinish } = proto.HandshakeMessage.decode(payload);
      if (!clientFinish?.static || !clientFinish.payload) throw new Error('expected clientFinish');
      const clientStatic = this.#noise.decryptHandshake(clientFinish.static);
      this.clientStatic = clientStatic;
      this.#noise.dh(this.#ephemeral!, clientStatic);
      this.payload = proto.ClientPayload.decode(this.#noise.decryptHandshake(clientFinish.payload));
      this.#noise.finish();
      this.#stage = 'open';
      await this.#sim.onAuthenticated(this);
      return;
    }
    await this.#sim.onNode(this, await decodeBinaryNode(this.#noise.decrypt(payload)));
  }

  #sendRaw(payload: Uint8Array): void {
    this.#socket.send(frame(payload));
  }

  send(node: BinaryNode): void {
    this.#sendRaw(this.#noise.encrypt(encodeBinaryNode(node)));
  }

  close(): void {
    this.#socket.close();
  }

  // The server turns the client away: Baileys closes with `reason` as the status code (401 logged out, 403 forbidden).
  fail(reason: string): void {
    this.send({ tag: 'failure', attrs: { reason } });
    this.close();
  }

  drop(): void {
    this.#socket.terminate();
  }
}

export type FaultKind = 'drop' | 'restart' | 'conflict' | 'logout' | 'refuse';
export const FAULT_KINDS: FaultKind[] = ['drop', 'restart', 'conflict', 'logout', 'refuse'];

export class WhatsAppSimulator {
  readonly identity = makeIdentity();
  readonly issuedRefs: IssuedRef[] = [];
  readonly #options: Required<SimOptions>;
  readonly #http = http.createServer((req, res) => {
    handleControl(this, req, res).catch((err) => {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) }));
    });
  });
  // Until this time, new WebSocket connections are refused (fault `refuse`).
  #refuseUntil = 0;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #connections = new Set<Connection>();
  #nextId = 1;
  readonly logs: string[] = [];

  constructor(options: SimOptions = {}) {
    this.#options = { refsPerPairing: 6, ...options };
    this.#http.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws/chat' || Date.now() < this.#refuseUntil) return socket.destroy();
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        const connection = new Connection(this.#nextId++, ws, this);
        this.#connections.add(connection);
        ws.on('close', () => {
          this.#connections.delete(connection);
          this.#pairingCodes.forget(connection);
          if (connection.deviceJid && !this.connectionsOf(connection.deviceJid).length) this.presence.disconnected(connection.deviceJid);
        });
      });
    });
  }

  log(line: string): void {
    this.logs.push(line);
  }

  // `url` is what Baileys takes as waWebSocketUrl; `control` the base of the control API; `mediaUrl` the media
  // host (HTTPS on loopback, its own port) whose certificate, `caPem`, processes running Baileys must trust.
  async listen(port = 0, host = '127.0.0.1'): Promise<{ port: number; url: string; control: string; mediaUrl: string; caPem: string }> {
    const { url: mediaUrl, caPem } = await this.#mediaServer.listen('127.0.0.1');
    await new Promise<void>((resolve) => this.#http.listen(port, host, resolve));
    const actual = (this.#http.address() as AddressInfo).port;
    return { port: actual, url: `ws://${host}:${actual}/ws/chat`, control: `http://${host}:${actual}/control`, mediaUrl, caPem };
  }

  async close(): Promise<void> {
    for (const connection of this.#connections) connection.close();
    this.#wss.close();
    await Promise.all([new Promise<void>((resolve) => this.#http.close(() => resolve())), this.#mediaServer.close()]);
  }

  readonly phones = new Map<string, Phone>();
  // Linked devices by jid (`<number>:<device>@s.whatsapp.net`), with the Noise key they log in with.
  readonly devices = new Map<string, { phone: Phone; device: number; noiseKey: Buffer; lid: string }>();
  // Times a device logged in while another socket of it was still open, by jid.
  readonly overlaps = new Map<string, number>();
  readonly #pendingPairings = new Map<string, { phone: Phone; device: number; noiseKey: Buffer }>();
  readonly #pairingCodes = new PairingCodes<Connection>();
  readonly prekeys = new PreKeyStore();
  readonly groups = new GroupStore();
  readonly media = new MediaStore();
  readonly #mediaServer = createMediaServer(this.media);
  readonly router: Router = new Router(this);
  readonly presence: PresenceHub = new PresenceHub(this);
  readonly appState: AppStateHub = new AppStateHub(this, this.router);
  // Every privacy-token issue a companion made since the simulator started.
  readonly tokenIssues: TokenIssue[] = [];
  readonly reachOut = new ReachOutBook();

  createPhone(number: string): Phone {
    const existing = this.phones.get(number);
    if (existing) return existing;
    const phone = new Phone(number);
    this.phones.set(number, phone);
    return phone;
  }

  // A phone scans a QR shown by a companion that is still waiting on this server.
  scan(qr: string, number: string): void {
    const phone = this.phones.get(number);
    if (!phone) throw new Error(`no phone ${number}`);
    const scanned = parseQr(qr);
    const issued = this.issuedRefs.find((r) => r.ref === scanned.ref);
    const connection = [...this.#connections].find((c) => c.id === issued?.connectionId);
    if (!issued || !connection) throw new Error('that QR is not shown by any connected companion');
    this.#pairSuccess(connection, phone, scanned);
  }

  // A phone's user types the code a companion showed after `requestPairingCode(number)`; settles once the phone
  // has opened the companion's key bundle (then pair-success is on its way) or failed to (PairingCodeError).
  async enterPairingCode(number: string, code: string): Promise<void> {
    const phone = this.phones.get(number);
    if (!phone) throw new PairingCodeError('not-waiting', `no phone ${number}`);
    const linked = await this.#pairingCodes.enter(phone, code);
    this.#pairSuccess(linked.connection, phone, linked);
  }

  #pairSuccess(connection: Connection, phone: Phone, companion: CompanionKeys & { noiseKey: Buffer }): void {
    const { device, deviceIdentity } = phone.link(companion);
    const id = randomBytes(4).toString('hex');
    this.#pendingPairings.set(id, { phone, device, noiseKey: companion.noiseKey });
    connection.send({
      tag: 'iq',
      attrs: { type: 'set', id, from: 's.whatsapp.net', t: String(Math.floor(Date.now() / 1000)) },
      content: [
        {
          tag: 'pair-success',
          attrs: {},
          content: [
            { tag: 'device-identity', attrs: {}, content: Buffer.from(deviceIdentity) },
            { tag: 'platform', attrs: { name: 'android' } },
            { tag: 'device', attrs: { jid: `${phone.number}:${device}@s.whatsapp.net`, lid: `${phone.lid}:${device}@lid` } },
          ],
        },
      ],
    });
  }

  // The Signal keys a new companion registered with, so its phone can start a session before it uploads pre-keys.
  #registered(jid: string, pairing: proto.ClientPayload.IDevicePairingRegistrationData | null | undefined): void {
    const { eRegid, eIdent, eSkeyId, eSkeyVal, eSkeySig } = pairing ?? {};
    if (!eRegid || !eIdent || !eSkeyId || !eSkeyVal || !eSkeySig) return;
    this.prekeys.register(jid, {
      registrationId: Buffer.from(eRegid).readUInt32BE(),
      identity: eIdent,
      signedPreKey: { keyId: Buffer.from(eSkeyId).readUIntBE(0, 3), public: eSkeyVal, signature: eSkeySig },
    });
  }

  #phone(number: string): Phone {
    const phone = this.phones.get(number);
    if (!phone) throw new Error(`no phone ${number}`);
    return phone;
  }

  // The phone's user sends a text to a number or jid; returns the message id.
  sendFromPhone(number: string, to: string, text: string, options?: PhoneSendOptions): string {
    return this.router.phones.send(this.#phone(number), to, text, options);
  }

  // The phone's user writes into a group it is in (`createGroup`); returns the message id.
  sendGroupFromPhone(number: string, groupJid: string, text: string): string {
    return this.router.phones.sendToGroup(this.#phone(number), groupJid, text);
  }

  // The phone's user sends media (encrypted and stored by the phone); returns the message id.
  sendMediaFromPhone(number: string, to: string, media: OutgoingMedia, options?: PhoneSendOptions): string {
    return this.router.phones.sendMedia(this.#phone(number), to, media, options);
  }

  // The decrypted bytes of media the phone received in message `id`.
  mediaOf(number: string, id: string): { bytes: Buffer; mimetype: string } | undefined {
    return this.router.phones.handset(this.#phone(number)).mediaFiles.get(id);
  }

  inbox(number: string): readonly InboxEntry[] {
    return this.router.phones.handset(this.#phone(number)).inbox;
  }

  // What the phone sent, with the furthest status its recipient reported.
  sentBy(number: string): SentEntry[] {
    return [...this.router.phones.handset(this.#phone(number)).sent.values()];
  }

  // The phone's user reinstalls WhatsApp: its Signal sessions with every companion are gone (see Handset.reinstall).
  reinstall(number: string): void {
    this.router.phones.handset(this.#phone(number)).reinstall();
  }

  setReceipts(number: string, receipts: ReceiptPolicy): void {
    this.router.phones.handset(this.#phone(number)).receipts = receipts;
  }

  createGroup(subject: string, numbers: string[]): Group {
    const [creator, ...others] = numbers.map((n) => this.#phone(n));
    if (!creator) throw new Error('a group needs participants');
    return this.groups.create(subject, creator, others);
  }

  // The account's limits on first messages to new contacts (README, Reach-out limits); `null` lifts them. Either
  // way the account starts afresh: no lock, no refusals, not restricted.
  setReachOut(number: string, policy: ReachOutPolicy | null): ReachOutState {
    const parsed = policy && parseReachOutPolicy(policy);
    if (typeof parsed === 'string') throw new Error(parsed);
    const { jid } = this.#phone(number);
    this.reachOut.setPolicy(jid, parsed);
    return this.reachOut.stateOf(jid, Date.now());
  }

  reachOutOf(number: string): ReachOutState {
    return this.reachOut.stateOf(this.#phone(number).jid, Date.now());
  }

  // WhatsApp lifts the restriction: the account's companions may log in again.
  unrestrict(number: string): ReachOutState {
    const { jid } = this.#phone(number);
    this.reachOut.unrestrict(jid);
    return this.reachOut.stateOf(jid, Date.now());
  }

  // As WhatsApp does with a number it restricts: every companion is told 403 and closed.
  shutOut(phone: Phone): void {
    for (const connection of this.#connections) {
      if (connection.deviceJid && this.devices.get(connection.deviceJid)?.phone === phone) connection.fail('403');
    }
  }

  // The open connections of a linked device (a healthy device has at most one).
  connectionsOf(jid: string): Connection[] {
    return [...this.#connections].filter((c) => c.deviceJid === jid);
  }

  // Faults on demand, as WhatsApp's servers produce them. `logout` also unlinks the device, so it stays out.
  fault(jid: string, kind: FaultKind, refuseMs = 5000): void {
    if (kind === 'refuse') {
      this.#refuseUntil = Date.now() + refuseMs;
      for (const connection of this.connectionsOf(jid)) connection.drop();
      return;
    }
    if (kind === 'logout') {
      this.devices.delete(jid);
      this.router.unlinked(jid);
    }
    for (const connection of this.connectionsOf(jid)) {
      if (kind === 'drop') connection.drop();
      else if (kind === 'restart') connection.send({ tag: 'stream:error', attrs: { code: '515' } });
      else if (kind === 'conflict') connection.send({ tag: 'stream:error', attrs: {}, content: [{ tag: 'conflict', attrs: { type: 'replaced' } }] });
      else connection.send({ tag: 'failure', attrs: { reason: '401' } });
    }
  }

  async onAuthenticated(connection: Connection): Promise<void> {
    const payload = connection.payload!;
    if (!payload.username) {
      // A new companion: offer QR refs, each of which a phone can scan.
      // As long as WhatsApp's (`2@` and about 64 characters), so the QR a client draws has a real QR's length.
      const refs = Array.from({ length: this.#options.refsPerPairing }, () => `2@${randomBytes(48).toString('base64')}`);
      for (const ref of refs) this.issuedRefs.push({ ref, connectionId: connection.id });
      connection.send({
        tag: 'iq',
        attrs: { type: 'set', xmlns: 'md', id: randomBytes(4).toString('hex'), from: 's.whatsapp.net' },
        content: [{ tag: 'pair-device', attrs: {}, content: refs.map((ref) => ({ tag: 'ref', attrs: {}, content: Buffer.from(ref) })) }],
      });
      return;
    }
    const jid = `${payload.username.toString()}:${payload.device ?? 0}@s.whatsapp.net`;
    const linked = this.devices.get(jid);
    // The handshake proved the client holds this Noise key; only the key the device was linked with logs in.
    if (!linked || !connection.clientStatic || !linked.noiseKey.equals(connection.clientStatic)) return connection.fail('401');
    if (this.reachOut.isRestricted(linked.phone.jid)) return connection.fail('403');
    // What the phone sent a companion it just linked is part of the companion's first login.
    await this.appState.ready(jid);
    // Like WhatsApp, a second login replaces the first (440 to the older socket). A healthy platform never lets
    // that happen, so the simulator counts it for tests to assert on.
    const older = this.connectionsOf(jid);
    if (older.length) {
      this.overlaps.set(jid, (this.overlaps.get(jid) ?? 0) + 1);
      for (const previous of older) previous.send({ tag: 'stream:error', attrs: {}, content: [{ tag: 'conflict', attrs: { type: 'replaced' } }] });
    }
    connection.deviceJid = jid;
    connection.send({ tag: 'success', attrs: { t: String(Math.floor(Date.now() / 1000)), lid: linked.lid, props: '1', creation: '0' } });
    this.router.onLogin({ phone: linked.phone, device: linked.device }, connection);
  }

  async onNode(connection: Connection, node: BinaryNode): Promise<void> {
    this.log(`node ${node.tag} ${JSON.stringify(node.attrs)}`);
    const device = connection.deviceJid ? findEndpoint(this, connection.deviceJid) : undefined;
    const reply = (answer: BinaryNode) => connection.send(answer);
    if (device && node.tag === 'message') return this.router.onMessage(device, node, reply);
    if (device && node.tag === 'receipt') return this.router.onReceipt(device, node, reply);
    if (device && node.tag === 'ack') return this.router.onAck(device, node);
    if (device && (node.tag === 'presence' || node.tag === 'chatstate')) return this.presence.onNode(device, node);
    if (node.tag !== 'iq') return;
    if (this.#pairingCodes.onIq(connection, node)) return;
    const pairing = this.#pendingPairings.get(node.attrs.id ?? '');
    if (pairing && node.attrs.type === 'result') {
      // The companion countersigned: it is linked. WhatsApp then asks it to reconnect as the new device.
      this.#pendingPairings.delete(node.attrs.id!);
      const jid = `${pairing.phone.number}:${pairing.device}@s.whatsapp.net`;
      this.devices.set(jid, { phone: pairing.phone, device: pairing.device, noiseKey: pairing.noiseKey, lid: `${pairing.phone.lid}:${pairing.device}@lid` });
      this.#registered(jid, connection.payload?.devicePairingData);
      this.appState.linked({ phone: pairing.phone, device: pairing.device });
      connection.send({ tag: 'stream:error', attrs: { code: '515' } });
      return;
    }
    if (node.attrs.type === 'get' || node.attrs.type === 'set') {
      const content = device ? await answerIq(this, this.router, device, node) : undefined;
      const type = content?.some((child) => child.tag === 'error') ? 'error' : 'result';
      connection.send({ tag: 'iq', attrs: { id: node.attrs.id!, type, from: node.attrs.to ?? 's.whatsapp.net' }, ...(content ? { content } : {}) });
    }
  }
}
