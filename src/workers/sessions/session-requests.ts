import { randomUUID } from 'node:crypto';
import type { Coordination, Subscription } from '../../coordination/coordination.ts';
import { AppError, ERROR_STATUS, type ErrorCode } from '../../domain/errors.ts';

// Questions only a live WhatsApp socket can answer (is this number on WhatsApp? which groups is it in?) travel from
// the API to the process holding the session: the session's lease names that process, each holder listens on a
// channel of its own, and each API process on one reply channel. Nothing is queued: a question nobody can answer
// now fails at once (DEVICE_NOT_CONNECTED) rather than waiting behind sends.

export type PresenceState = 'available' | 'unavailable' | 'composing' | 'recording' | 'paused';

export type SessionQuestion =
  | { op: 'check-numbers'; jids: string[] }
  | { op: 'groups' }
  | { op: 'group-metadata'; jid: string }
  | { op: 'profile-picture'; jid: string; type: 'image' | 'preview' }
  | { op: 'business-profile'; jid: string }
  // Subscribes to a person's presence and answers the first report (later ones arrive as events).
  | { op: 'presence'; jid: string }
  // Our own presence: online/offline for the account, or typing/recording/paused in one chat (`jid`).
  | { op: 'send-presence'; presence: PresenceState; jid?: string }
  | { op: 'sync'; contacts: boolean; groups: boolean }
  // Asks the sender's phone to upload a received media message again (WhatsApp no longer has it: 404/410), and
  // answers the message with its new address (`message`: WebMessageInfo protobuf in base64, both ways).
  | { op: 'media-retry'; message: string };

interface Envelope {
  id: string;
  deviceId: number;
  question: SessionQuestion;
  replyTo: string;
}

type Reply = { id: string; ok: true; answer: unknown } | { id: string; ok: false; code: string; error: string };

const requestsChannel = (owner: string) => `session-requests:${owner}`;

// The holder's side: answers questions about the sessions it holds with `answer` (which throws AppErrors).
export function answerSessionQuestions(
  coordination: Coordination,
  owner: string,
  answer: (deviceId: number, question: SessionQuestion) => Promise<unknown>,
): Promise<Subscription> {
  return coordination.subscribe(requestsChannel(owner), (text) => {
    const { id, deviceId, question, replyTo } = JSON.parse(text) as Envelope;
    void answer(deviceId, question)
      .then((result): Reply => ({ id, ok: true, answer: result }))
      .catch((err): Reply => ({ id, ok: false, code: err instanceof AppError ? err.code : 'INTERNAL_ERROR', error: err instanceof Error ? err.message : String(err) }))
      .then((reply) => coordination.publish(replyTo, JSON.stringify(reply)))
      .catch(() => {
        // The asker times out.
      });
  });
}

// The API's side: one reply channel per process, opened on first use.
export class SessionQuestions {
  readonly #coordination: Coordination;
  readonly #channel = `session-replies:${randomUUID()}`;
  readonly #waiting = new Map<string, (reply: Reply) => void>();
  #subscription?: Promise<Subscription>;

  constructor(coordination: Coordination) {
    this.#coordination = coordination;
  }

  #listen(): Promise<Subscription> {
    this.#subscription ??= this.#coordination.subscribe(this.#channel, (text) => {
      const reply = JSON.parse(text) as Reply;
      this.#waiting.get(reply.id)?.(reply);
    });
    return this.#subscription;
  }

  async ask<T>(deviceId: number, question: SessionQuestion, timeoutMs = 15_000): Promise<T> {
    await this.#listen();
    const lease = await this.#coordination.leaseHolder(`device-${deviceId}`);
    const notConnected = new AppError('DEVICE_NOT_CONNECTED', 'The session is not running on any worker; log the device in (POST /api/whatsapp/devices/{id}/login)');
    if (!lease) throw notConnected;
    const id = randomUUID();
    const reply = new Promise<Reply>((resolve) => this.#waiting.set(id, resolve));
    let timer: NodeJS.Timeout | undefined;
    try {
      const envelope: Envelope = { id, deviceId, question, replyTo: this.#channel };
      if ((await this.#coordination.publish(requestsChannel(lease.owner), JSON.stringify(envelope))) === 0) throw notConnected;
      const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
      const answer = await Promise.race([reply, timedOut]);
      if (!answer) throw new AppError('SERVICE_UNAVAILABLE', 'The worker holding the session did not answer in time');
      if (!answer.ok) throw new AppError(answer.code in ERROR_STATUS ? (answer.code as ErrorCode) : 'INTERNAL_ERROR', answer.error);
      return answer.answer as T;
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(id);
    }
  }

  async close(): Promise<void> {
    await (await this.#subscription)?.close();
  }
}
