import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
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
  | { op: 'sync'; contacts: boolean; groups: boolean };

interface Envelope {
  id: string;
  deviceId: number;
  question: SessionQuestion;
  replyTo: string;
}

type Reply = { id: string; ok: true; answer: unknown } | { id: string; ok: false; code: string; error: string };

const requestsChannel = (prefix: string, owner: string) => `${prefix}:session-requests:${owner}`;
const leaseKey = (prefix: string, deviceId: number) => `${prefix}:lease:device-${deviceId}`;

// The holder's side: answers questions about the sessions it holds with `answer` (which throws AppErrors).
export async function answerSessionQuestions(
  redis: Redis,
  prefix: string,
  owner: string,
  answer: (deviceId: number, question: SessionQuestion) => Promise<unknown>,
): Promise<{ close(): Promise<void> }> {
  const subscriber = redis.duplicate();
  subscriber.on('message', (_channel, text: string) => {
    const { id, deviceId, question, replyTo } = JSON.parse(text) as Envelope;
    void answer(deviceId, question)
      .then((result): Reply => ({ id, ok: true, answer: result }))
      .catch((err): Reply => ({ id, ok: false, code: err instanceof AppError ? err.code : 'INTERNAL_ERROR', error: err instanceof Error ? err.message : String(err) }))
      .then((reply) => redis.publish(replyTo, JSON.stringify(reply)));
  });
  await subscriber.subscribe(requestsChannel(prefix, owner));
  return {
    async close() {
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}

// The API's side: one reply channel per process, opened on first use.
export class SessionQuestions {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #replyTo = `${randomUUID()}`;
  readonly #waiting = new Map<string, (reply: Reply) => void>();
  #subscriber?: Promise<Redis>;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #listen(): Promise<Redis> {
    this.#subscriber ??= (async () => {
      const subscriber = this.#redis.duplicate();
      subscriber.on('message', (_channel, text: string) => {
        const reply = JSON.parse(text) as Reply;
        this.#waiting.get(reply.id)?.(reply);
      });
      await subscriber.subscribe(this.#channel);
      return subscriber;
    })();
    return this.#subscriber;
  }

  get #channel() {
    return `${this.#prefix}:session-replies:${this.#replyTo}`;
  }

  async ask<T>(deviceId: number, question: SessionQuestion, timeoutMs = 15_000): Promise<T> {
    await this.#listen();
    const lease = await this.#redis.get(leaseKey(this.#prefix, deviceId));
    const notConnected = new AppError('DEVICE_NOT_CONNECTED', 'The session is not running on any worker; log the device in (POST /api/whatsapp/devices/{id}/login)');
    if (!lease) throw notConnected;
    const owner = lease.slice(0, lease.lastIndexOf(':'));
    const id = randomUUID();
    const reply = new Promise<Reply>((resolve) => this.#waiting.set(id, resolve));
    let timer: NodeJS.Timeout | undefined;
    try {
      const envelope: Envelope = { id, deviceId, question, replyTo: this.#channel };
      if ((await this.#redis.publish(requestsChannel(this.#prefix, owner), JSON.stringify(envelope))) === 0) throw notConnected;
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
    const subscriber = await this.#subscriber;
    await subscriber?.quit().catch(() => subscriber.disconnect());
  }
}
