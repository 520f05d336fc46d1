import type { WASocket } from '@whiskeysockets/baileys';
import type { Orm } from '../../db/orm.ts';
import { accountJid, lidOf, lidPairsOf, pnOf, type LidPair } from '../../domain/contacts.ts';
import { AppError } from '../../domain/errors.ts';
import { sqlOf } from '../../events/event-store.ts';
import type { ContactTracker } from './contact-tracker.ts';
import type { PresenceSubscriptions } from './presence-subscriptions.ts';
import { decodeReceived, encodeReceived } from './received-media.ts';
import type { SessionQuestion } from './session-requests.ts';

// Answers to the API's questions about a live session (src/workers/sessions/session-requests.ts), asked of
// Baileys. What the answers teach about people (a number's LID, a group member's number) is recorded on the way.

export interface LiveSession {
  deviceId: number;
  socket: WASocket;
  contacts: ContactTracker;
  presence: PresenceSubscriptions;
}

// How long a presence subscription waits for WhatsApp's first report, and a profile query for its answer (both
// within the API's own wait for the answer).
const PRESENCE_WAIT_MS = 5000;
const QUERY_TIMEOUT_MS = 10_000;
// People per usync query when a sync looks contacts up again.
const LOOKUP_BATCH = 50;

// What a WhatsApp error answer carries: Baileys throws a Boom with the node's code as `data`.
const errorCodeOf = (err: unknown) => (err as { data?: unknown } | undefined)?.data;

export function createSessionAnswers(orm: Orm, live: (deviceId: number) => LiveSession | undefined) {
  // Which numbers are on WhatsApp, and their LIDs. rc14's `onWhatsApp` asks only whether they are (and leaves out
  // those that are not); the LIDs come from Baileys' map, which asks usync for those it lacks and keeps them, so a
  // later message from one of these LIDs alone is named by number.
  const lookUp = async (session: LiveSession, jids: string[]) => {
    const { socket } = session;
    const found = new Set((await socket.onWhatsApp(...jids))?.filter((r) => r.exists).map((r) => r.jid) ?? []);
    const pairs = found.size ? ((await socket.signalRepository.lidMapping.getLIDsForPNs([...found])) ?? []) : [];
    const lids = new Map(pairs.flatMap((p) => (pnOf(p.pn) && lidOf(p.lid) ? [[pnOf(p.pn)!, lidOf(p.lid)!]] : [])));
    await session.contacts.identified([...lids].map(([pn, lid]) => ({ pn, lid })), 'lookup');
    return jids.map((jid) => ({ jid, exists: found.has(jid), ...(lids.has(jid) ? { lid: lids.get(jid)! } : {}) }));
  };

  // Looks up again the people this device knows: by number through usync, by LID in Baileys' own map.
  const syncContacts = async (session: LiveSession) => {
    const rows = await sqlOf(orm.em.fork())('select jid from contacts where device_id = ?', [session.deviceId]);
    const jids = rows.map((r) => String(r.jid));
    const byNumber = jids.filter((jid) => pnOf(jid));
    let identified = 0;
    for (let i = 0; i < byNumber.length; i += LOOKUP_BATCH) identified += (await lookUp(session, byNumber.slice(i, i + LOOKUP_BATCH))).filter((a) => a.lid).length;
    const pairs: LidPair[] = [];
    for (const lid of jids.filter((jid) => lidOf(jid))) {
      const pn = pnOf(await session.socket.signalRepository.lidMapping.getPNForLID(lid));
      if (pn) pairs.push({ pn, lid });
    }
    await session.contacts.identified(pairs, 'lookup');
    return { contacts: jids.length, identified: identified + pairs.length };
  };

  const syncGroups = async (session: LiveSession) => {
    const groups = Object.values(await session.socket.groupFetchAllParticipating());
    const pairs = groups.flatMap((g) => lidPairsOf(g.participants));
    await session.contacts.identified(pairs, 'group');
    return { groups: groups.length, identified: pairs.length };
  };

  return async (deviceId: number, question: SessionQuestion): Promise<unknown> => {
    const session = live(deviceId);
    if (!session) throw new AppError('DEVICE_NOT_CONNECTED', 'The session is not connected to WhatsApp right now');
    const { socket } = session;
    switch (question.op) {
      case 'check-numbers':
        return lookUp(session, question.jids);
      case 'groups':
        return Object.values(await socket.groupFetchAllParticipating());
      case 'group-metadata': {
        const group = await socket.groupMetadata(question.jid);
        await session.contacts.identified(lidPairsOf(group.participants), 'group');
        return group;
      }
      case 'profile-picture': {
        try {
          return { jid: question.jid, url: (await socket.profilePictureUrl(question.jid, question.type, QUERY_TIMEOUT_MS)) ?? null };
        } catch (err) {
          // 404: no picture; 401: the person shows it to their contacts only.
          if (errorCodeOf(err) === 404 || errorCodeOf(err) === 401) return { jid: question.jid, url: null };
          throw err;
        }
      }
      case 'business-profile':
        return (await socket.getBusinessProfile(question.jid)) ?? null;
      case 'presence': {
        const jid = accountJid(question.jid) ?? question.jid;
        const report = session.contacts.nextPresence(jid, PRESENCE_WAIT_MS);
        await socket.presenceSubscribe(jid);
        await session.presence.remember(jid);
        return (await report) ?? { jid, presence: 'unknown' };
      }
      case 'send-presence': {
        const accountWide = question.presence === 'available' || question.presence === 'unavailable';
        // Baileys announces the account by its push name and silently skips the update without one. (`socket.user`
        // is a copy taken when the socket was made; the creds are live.)
        if (accountWide && !socket.authState.creds.me?.name) {
          throw new AppError('ACCOUNT_NAME_UNKNOWN', 'WhatsApp has not told this session the account’s name yet (it comes with the first message sent from the phone)');
        }
        await socket.sendPresenceUpdate(question.presence, question.jid);
        return { presence: question.presence, ...(question.jid ? { jid: question.jid } : {}) };
      }
      case 'media-retry': {
        // The new address is built on the media host media_conn names; a session that has only received has not
        // asked for it yet (and would build it on WhatsApp's default host).
        await socket.refreshMediaConn(false);
        try {
          return { message: encodeReceived(await socket.updateMediaMessage(decodeReceived(question.message))) };
        } catch (err) {
          throw new AppError('MEDIA_GONE', `the sender's phone could not upload the media again (${err instanceof Error ? err.message : String(err)})`);
        }
      }
      case 'sync': {
        const groups = question.groups ? await syncGroups(session) : undefined;
        const contacts = question.contacts ? await syncContacts(session) : undefined;
        return { groups: groups?.groups ?? null, contacts: contacts?.contacts ?? null, identified: (groups?.identified ?? 0) + (contacts?.identified ?? 0) };
      }
    }
  };
}
