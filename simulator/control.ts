import type { IncomingMessage, ServerResponse } from 'node:http';
import { isJidGroup } from '@whiskeysockets/baileys';
import type { AddressBookEntry } from './app-state.ts';
import { PairingCodeError, type PairingCodeFailure } from './pairing-code.ts';
import { RECEIPT_POLICIES, type ReceiptPolicyName } from './handset.ts';
import { MEDIA_KINDS, type MediaKind } from './media-crypto.ts';
import type { OutgoingMedia } from './phone-media.ts';
import type { BusinessProfile, Phone } from './phones.ts';
import { parseReachOutPolicy } from './reach-out.ts';
import { FAULT_KINDS, type FaultKind, type WhatsAppSimulator } from './server.ts';

// The simulator's control API, on the same port as `/ws/chat` (documented in the README): tests, benchmarks
// and the offline demo drive the simulated phones through it.

async function bodyOf(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : undefined;
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  return ((await bodyOf(req)) as Record<string, unknown> | undefined) ?? {};
}

function reply(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
}

const profileOf = (phone: Phone) => ({ pushName: phone.pushName ?? null, pictureUrl: phone.pictureUrl ?? null, business: phone.business ?? null });

// `null` removes a field, an absent one stays as it is. Answers what is wrong, if anything.
function applyProfile(phone: Phone, { pushName, pictureUrl, business }: Record<string, unknown>): string | undefined {
  const optionalText = (value: unknown) => value === undefined || value === null || typeof value === 'string';
  if (!optionalText(pushName) || !optionalText(pictureUrl)) return 'pushName and pictureUrl are strings (or null)';
  const b = business as Record<string, unknown> | null | undefined;
  if (b !== undefined && b !== null && (typeof b.description !== 'string' || typeof b.category !== 'string' || !['email', 'website', 'address'].every((k) => optionalText(b[k])))) {
    return 'business needs description and category (strings), and may have email, website, address';
  }
  if (pushName !== undefined) phone.pushName = (pushName as string | null) ?? undefined;
  if (pictureUrl !== undefined) phone.pictureUrl = (pictureUrl as string | null) ?? undefined;
  if (b !== undefined) phone.business = b ? (b as unknown as BusinessProfile) : undefined;
  return undefined;
}

// A phone's outgoing media as the control API takes it (`data` in base64), or what is wrong with it.
function outgoingMedia(media: unknown): OutgoingMedia | string {
  const m = media as Record<string, unknown>;
  if (typeof m !== 'object' || m === null) return 'media must be an object';
  if (!MEDIA_KINDS.includes(m.kind as MediaKind)) return `media.kind must be one of ${MEDIA_KINDS.join(', ')}`;
  if (typeof m.data !== 'string' || !m.data || typeof m.mimetype !== 'string' || !m.mimetype) return 'media needs data (base64) and mimetype';
  if (![m.caption, m.fileName].every((v) => v === undefined || typeof v === 'string') || (m.ptt !== undefined && typeof m.ptt !== 'boolean')) {
    return 'media.caption and media.fileName are strings, media.ptt a boolean';
  }
  if (m.downloadStatus !== undefined && m.downloadStatus !== 404 && m.downloadStatus !== 410) return 'media.downloadStatus is 404 or 410';
  return {
    kind: m.kind as MediaKind,
    data: Buffer.from(m.data, 'base64'),
    mimetype: m.mimetype,
    ...(m.caption !== undefined ? { caption: m.caption as string } : {}),
    ...(m.fileName !== undefined ? { fileName: m.fileName as string } : {}),
    ...(m.ptt !== undefined ? { ptt: m.ptt as boolean } : {}),
    ...(m.downloadStatus !== undefined ? { downloadStatus: m.downloadStatus as 404 | 410 } : {}),
  };
}

const PAIRING_CODE_STATUS: Record<PairingCodeFailure, number> = { 'not-waiting': 404, 'wrong-code': 400, busy: 409, timeout: 504 };

export async function handleControl(sim: WhatsAppSimulator, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const route = `${req.method} ${path}`;
  let match: RegExpExecArray | null;

  if (route === 'GET /control/health') return reply(res, 200, { status: 'ok' });

  if (route === 'POST /control/phones') {
    const { number, pushName } = await body(req);
    if (typeof number !== 'string' || !/^\d{6,15}$/.test(number)) return reply(res, 400, { error: 'number must be 6 to 15 digits' });
    if (pushName !== undefined && typeof pushName !== 'string') return reply(res, 400, { error: 'pushName must be a string' });
    const phone = sim.createPhone(number);
    if (pushName !== undefined) phone.pushName = pushName;
    return reply(res, 201, { number: phone.number, jid: phone.jid, lid: `${phone.lid}@lid` });
  }

  if (route === 'POST /control/scan') {
    const { qr, phone } = await body(req);
    if (typeof qr !== 'string' || typeof phone !== 'string') return reply(res, 400, { error: 'qr and phone are required' });
    try {
      sim.scan(qr, phone);
    } catch (err) {
      return reply(res, 404, { error: err instanceof Error ? err.message : String(err) });
    }
    return reply(res, 202, { scanned: true });
  }

  if (route === 'POST /control/pairing-code') {
    const { phone, code } = await body(req);
    if (typeof phone !== 'string' || typeof code !== 'string') return reply(res, 400, { error: 'phone and code are required' });
    try {
      await sim.enterPairingCode(phone, code);
    } catch (err) {
      if (err instanceof PairingCodeError) return reply(res, PAIRING_CODE_STATUS[err.reason], { error: err.message });
      throw err;
    }
    return reply(res, 202, { entered: true });
  }

  if (route === 'GET /control/key-fetches') return reply(res, 200, sim.prekeys.fetches);
  if (route === 'GET /control/token-issues') return reply(res, 200, sim.tokenIssues);

  if (route === 'GET /control/media/stats') return reply(res, 200, sim.media.stats());

  if (req.method === 'GET' && (match = /^\/control\/phones\/(\d+)\/media\/([^/]+)$/.exec(path))) {
    const [, number, id] = match as unknown as [string, string, string];
    if (!sim.phones.has(number)) return reply(res, 404, { error: `no phone ${number}` });
    const file = sim.mediaOf(number, decodeURIComponent(id));
    if (!file) return reply(res, 404, { error: `phone ${number} has no media of message ${id}` });
    res.writeHead(200, { 'content-type': file.mimetype || 'application/octet-stream', 'content-length': file.bytes.length }).end(file.bytes);
    return;
  }

  if (route === 'GET /control/devices') {
    return reply(res, 200, [...sim.devices.entries()].map(([jid, d]) => ({ jid, lid: d.lid, phone: d.phone.number, connections: sim.connectionsOf(jid).length, overlaps: sim.overlaps.get(jid) ?? 0 })));
  }

  if (req.method === 'POST' && (match = /^\/control\/devices\/([^/]+)\/fault$/.exec(path))) {
    const jid = decodeURIComponent(match[1]!);
    const { kind, durationMs } = await body(req);
    if (!FAULT_KINDS.includes(kind as FaultKind)) return reply(res, 400, { error: `kind must be one of ${FAULT_KINDS.join(', ')}` });
    if (!sim.devices.has(jid)) return reply(res, 404, { error: `no linked device ${jid}` });
    sim.fault(jid, kind as FaultKind, typeof durationMs === 'number' ? durationMs : undefined);
    return reply(res, 202, { fault: kind });
  }

  if ((match = /^\/control\/phones\/(\d+)\/(profile|presence|contacts)$/.exec(path))) {
    const [, number, action] = match as unknown as [string, string, string];
    const phone = sim.phones.get(number);
    if (!phone) return reply(res, 404, { error: `no phone ${number}` });
    if (route.startsWith('PUT ') && action === 'profile') {
      const problem = applyProfile(phone, await body(req));
      return problem ? reply(res, 400, { error: problem }) : reply(res, 200, profileOf(phone));
    }
    if (route.startsWith('GET ') && action === 'profile') return reply(res, 200, profileOf(phone));
    if (route.startsWith('PUT ') && action === 'presence') {
      const { presence } = await body(req);
      if (presence !== 'available' && presence !== 'unavailable') return reply(res, 400, { error: 'presence must be available or unavailable' });
      return reply(res, 200, sim.presence.set(phone, presence));
    }
    if (route.startsWith('GET ') && action === 'presence') return reply(res, 200, { ...phone.presence, chatStates: sim.presence.chatStatesOf(phone) });
    if (route.startsWith('PUT ') && action === 'contacts') {
      const entries = await bodyOf(req);
      const valid = Array.isArray(entries) && entries.every((e) => typeof e?.number === 'string' && /^\d{6,15}$/.test(e.number) && typeof e.name === 'string' && e.name.trim());
      if (!valid) return reply(res, 400, { error: 'a list of {number (6 to 15 digits), name (not blank)}' });
      await sim.appState.setAddressBook(phone, entries as AddressBookEntry[]);
      return reply(res, 200, sim.appState.addressBook(phone));
    }
    if (route.startsWith('GET ') && action === 'contacts') return reply(res, 200, sim.appState.addressBook(phone));
  }

  if ((match = /^\/control\/phones\/(\d+)\/(reach-out|unrestrict)$/.exec(path))) {
    const [, number, action] = match as unknown as [string, string, string];
    if (!sim.phones.has(number)) return reply(res, 404, { error: `no phone ${number}` });
    if (route.startsWith('GET ') && action === 'reach-out') return reply(res, 200, sim.reachOutOf(number));
    if (route.startsWith('DELETE ') && action === 'reach-out') return reply(res, 200, sim.setReachOut(number, null));
    if (route.startsWith('PUT ') && action === 'reach-out') {
      const given = await bodyOf(req);
      const policy = given === null ? null : parseReachOutPolicy(given);
      return typeof policy === 'string' ? reply(res, 400, { error: policy }) : reply(res, 200, sim.setReachOut(number, policy));
    }
    if (route.startsWith('POST ') && action === 'unrestrict') return reply(res, 200, sim.unrestrict(number));
  }

  if ((match = /^\/control\/phones\/(\d+)\/(send|inbox|sent|receipts)$/.exec(path))) {
    const [, number, action] = match as unknown as [string, string, string];
    if (!sim.phones.has(number)) return reply(res, 404, { error: `no phone ${number}` });
    if (route.startsWith('GET ') && action === 'inbox') return reply(res, 200, sim.inbox(number));
    if (route.startsWith('GET ') && action === 'sent') return reply(res, 200, sim.sentBy(number));
    if (route.startsWith('POST ') && action === 'send') {
      const { to, text, media, addressing = 'pn', withAlt = true } = await body(req);
      if (typeof to !== 'string' || (media === undefined && typeof text !== 'string')) return reply(res, 400, { error: 'to and text (or media) are required' });
      if ((addressing !== 'pn' && addressing !== 'lid') || typeof withAlt !== 'boolean') return reply(res, 400, { error: 'addressing is pn or lid; withAlt a boolean' });
      const outgoing = media === undefined ? undefined : outgoingMedia(media);
      if (typeof outgoing === 'string') return reply(res, 400, { error: outgoing });
      if (isJidGroup(to)) {
        if (outgoing) return reply(res, 400, { error: 'a phone writes only texts into groups' });
        const group = sim.groups.get(to);
        if (!group) return reply(res, 404, { error: `no group ${to}` });
        if (!group.participants.some((p) => p.number === number)) return reply(res, 403, { error: `${number} is not in ${to}` });
        return reply(res, 201, { id: sim.sendGroupFromPhone(number, to, text as string) });
      }
      const options = { addressing, withAlt } as const;
      try {
        const id = outgoing ? sim.sendMediaFromPhone(number, to, outgoing, options) : sim.sendFromPhone(number, to, text as string, options);
        return reply(res, 201, { id });
      } catch (err) {
        return reply(res, 404, { error: err instanceof Error ? err.message : String(err) });
      }
    }
    if (route.startsWith('PUT ') && action === 'receipts') {
      const { policy, delayMs = 200 } = await body(req);
      if (!RECEIPT_POLICIES.includes(policy as ReceiptPolicyName) || typeof delayMs !== 'number' || delayMs < 0) {
        return reply(res, 400, { error: `policy must be one of ${RECEIPT_POLICIES.join(', ')}; delayMs a number ≥ 0` });
      }
      const receipts = { policy: policy as ReceiptPolicyName, delayMs };
      sim.setReceipts(number, receipts);
      return reply(res, 200, receipts);
    }
  }

  if (route === 'POST /control/groups') {
    const { subject, participants } = await body(req);
    if (typeof subject !== 'string' || !Array.isArray(participants) || !participants.length || !participants.every((p) => typeof p === 'string')) {
      return reply(res, 400, { error: 'subject and participants (phone numbers) are required' });
    }
    const unknown = participants.filter((p) => !sim.phones.has(p));
    if (unknown.length) return reply(res, 404, { error: `no phone ${unknown.join(', ')}` });
    const group = sim.createGroup(subject, participants);
    return reply(res, 201, { jid: group.jid, subject: group.subject, participants: group.participants.map((p) => p.jid) });
  }

  return reply(res, 404, { error: `no control route ${route}` });
}
