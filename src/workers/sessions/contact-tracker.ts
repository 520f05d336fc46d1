import type { Contact, PresenceData, WASocket } from '@whiskeysockets/baileys';
import type { Orm } from '../../db/orm.ts';
import { accountJid, contactUpdateOf, type LidPair } from '../../domain/contacts.ts';
import { streamOf, type DomainEvent } from '../../domain/events.ts';
import { eventIdOf } from '../../events/event-ids.ts';
import { appendToStream } from '../../events/event-store.ts';
import type { Logger } from '../../logger.ts';
import type { TrackedDevice } from './message-tracker.ts';

export interface PresenceReport {
  jid: string;
  presence: string;
  lastSeen?: number;
}

// What WhatsApp tells a session about people, as events on the device's contacts stream: contact records
// (the phone's address book, when Baileys has it), LID ↔ number pairs, and presence of people it subscribed to.
// Push names of senders are not repeated here: `message.received` carries them.
export class ContactTracker {
  readonly #device: TrackedDevice;
  readonly #orm: Orm;
  readonly #logger: Logger;
  // What this process last reported per person, so Baileys' repeats do not become events.
  readonly #reported = new Map<string, string>();
  readonly #presenceWaiters = new Map<string, ((report: PresenceReport) => void)[]>();

  constructor(device: TrackedDevice, orm: Orm, logger: Logger) {
    this.#device = device;
    this.#orm = orm;
    this.#logger = logger;
  }

  watch(socket: WASocket): void {
    const guard = (work: Promise<unknown>) => void work.catch((err) => this.#logger.error({ err, deviceId: this.#device.id }, 'recording a contact event failed'));
    socket.ev.on('contacts.upsert', (contacts) => guard(this.#contacts(contacts)));
    // Updates that only carry a sender's push name come with each message, which records it already.
    socket.ev.on('contacts.update', (updates) => guard(this.#contacts(updates.filter((c) => c.name))));
    socket.ev.on('lid-mapping.update', (pair) => guard(this.identified([pair], 'lookup')));
    socket.ev.on('presence.update', ({ id, presences }) => guard(this.#presence(id, presences)));
  }

  // Pairs learned together are facts that do not change: an id derived from the pair makes repeats no-ops.
  async identified(pairs: LidPair[], source: 'lookup' | 'group'): Promise<void> {
    for (const { pn, lid } of pairs) {
      const jid = accountJid(pn);
      const account = accountJid(lid);
      if (!jid || !account) continue;
      await this.#append({ type: 'contact.identified', data: { jid, lid: account, source } }, eventIdOf(`${this.#device.id}:identified:${jid}:${account}`));
    }
  }

  // The next presence WhatsApp reports for `jid` (subscribe after calling this), or undefined after `timeoutMs`.
  nextPresence(jid: string, timeoutMs: number): Promise<PresenceReport | undefined> {
    return new Promise((resolve) => {
      const waiters = this.#presenceWaiters.get(jid) ?? [];
      const timer = setTimeout(() => {
        this.#presenceWaiters.set(jid, (this.#presenceWaiters.get(jid) ?? []).filter((w) => w !== settle));
        resolve(undefined);
      }, timeoutMs);
      const settle = (report: PresenceReport) => {
        clearTimeout(timer);
        resolve(report);
      };
      this.#presenceWaiters.set(jid, [...waiters, settle]);
    });
  }

  async #contacts(contacts: Partial<Contact>[]): Promise<void> {
    for (const contact of contacts) {
      const data = contactUpdateOf(contact);
      if (!data) continue;
      const signature = JSON.stringify(data);
      if (this.#reported.get(data.jid) === signature) continue;
      await this.#append({ type: 'contact.updated', data });
      this.#reported.set(data.jid, signature);
    }
  }

  async #presence(chat: string, presences: Record<string, PresenceData>): Promise<void> {
    for (const [participant, { lastKnownPresence, lastSeen }] of Object.entries(presences)) {
      // A group's chat states name the participant; presence is about people only.
      const jid = accountJid(participant) ?? accountJid(chat);
      if (!jid) continue;
      const report = { jid, presence: lastKnownPresence, ...(lastSeen ? { lastSeen } : {}) };
      for (const waiter of this.#presenceWaiters.get(jid) ?? []) waiter(report);
      this.#presenceWaiters.delete(jid);
      await this.#append({ type: 'contact.presence-updated', data: report });
    }
  }

  async #append(event: DomainEvent, eventId?: string): Promise<void> {
    const { id, userId, sessionId } = this.#device;
    await appendToStream(this.#orm.em.fork(), streamOf.contacts(id), [{ event, ...(eventId ? { eventId } : {}) }], {
      expectedVersion: 'any',
      metadata: { tenantId: userId, deviceId: id, sessionId },
    });
  }
}
