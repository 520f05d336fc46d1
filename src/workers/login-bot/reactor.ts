import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthContext, Clock } from '../../auth/context.ts';
import { issueLoginToken } from '../../auth/login.ts';
import type { Config } from '../../config.ts';
import { UserSchema } from '../../db/entities/user.ts';
import { accountJid, lidOf, phoneNumberOf, pnOf } from '../../domain/contacts.ts';
import { streamOf, type EventPayloads } from '../../domain/events.ts';
import { decideBotLogin, isLoginCommand, loginReplyText, type BotLoginOutcome } from '../../domain/login-bot.ts';
import { eventIdOf } from '../../events/event-ids.ts';
import { appendToStream, type RecordedEvent, type Sql } from '../../events/event-store.ts';
import type { Projection } from '../../events/projections/projection.ts';
import { queueMessage } from '../../messages/queue-message.ts';

// Seed 002's login from WhatsApp. Follows `message.received` from its checkpoint; a one-to-one `/login` to the
// designated bot device is answered with a one-time login token. Everything one request causes — the token's row,
// the reply's `message.queued`, the `auth.bot-login-requested` record — is written in the runner's transaction,
// with the checkpoint: a crash before the commit leaves nothing (the batch runs again), after it everything, and
// the record's id (derived from the inbound event) keeps a rerun from a reset checkpoint from answering twice.

interface Bot {
  deviceId: number;
  userId: number;
  sessionId: string;
  designatedAt: Date;
}

async function designatedBot(sql: Sql): Promise<Bot | undefined> {
  const [row] = await sql('select b.device_id, b.designated_at, d.user_id, d.session_id from login_bot b join devices d on d.id = b.device_id');
  return row
    ? { deviceId: Number(row.device_id), userId: Number(row.user_id), sessionId: String(row.session_id), designatedAt: new Date(row.designated_at as string) }
    : undefined;
}

export class LidMapBehindError extends Error {
  constructor() {
    super('the lid-mappings projection has not yet reached a /login sent by LID; the batch runs again');
  }
}

// The sender's number (`<digits>@s.whatsapp.net`), from the message or, for a sender named by LID alone, from the
// LID map. The map is another projection's: until it has read this far, what it lacks may only be late.
async function senderNumber(sql: Sql, bot: Bot, event: RecordedEvent, from: string): Promise<string | undefined> {
  const pn = pnOf(from);
  const lid = lidOf(from);
  if (pn || !lid) return pn;
  const [mapped] = await sql('select pn from lid_mappings where tenant_id = ? and lid = ?', [bot.userId, lid]);
  if (mapped) return String(mapped.pn);
  const [map] = await sql(`select (transaction_id, global_position) >= (?::xid8, ?) as caught_up from projection_checkpoints where name = 'lid-mappings'`, [
    event.transactionId,
    event.position,
  ]);
  if (!map?.caught_up) throw new LidMapBehindError();
  return undefined;
}

export interface LoginBotDeps {
  config: Config;
  clock: Clock;
}

async function answer(em: EntityManager, sql: Sql, deps: LoginBotDeps, bot: Bot, event: RecordedEvent): Promise<void> {
  const { chatJid, from } = event.data as unknown as EventPayloads['message.received'];
  const recordId = eventIdOf(`bot-login:${event.eventId}`);
  if ((await sql('select 1 from events where event_id = ?', [recordId])).length) return;

  const pn = await senderNumber(sql, bot, event, from);
  const number = pn ? phoneNumberOf(pn)! : undefined;
  const sender = accountJid(from) ?? from;
  const stream = streamOf.botLogin(number ? number.slice(1) : `lid-${sender.split('@')[0]}`);
  const { windowMs } = deps.config.loginBotRate;
  // Attempts are recorded after their request, so this bound keeps every one the window may count.
  const since = new Date(event.recordedAt.getTime() - windowMs).toISOString();
  const earlier = await sql(`select data->>'requestedAt' as at from events where stream_id = ? and recorded_at > ?`, [stream, since]);
  const [version] = await sql('select version from streams where stream_id = ?', [stream]);
  const user = number ? await em.findOne(UserSchema, { phoneNumber: number }) : null;
  const now = deps.clock();
  const outcome: BotLoginOutcome = decideBotLogin({
    requestedAt: event.recordedAt,
    now,
    earlier: earlier.map((r) => new Date(r.at as string)),
    rule: deps.config.loginBotRate,
    ttlMs: deps.config.loginTokenTtlMs,
    user: user ? { disabled: Boolean(user.disabledAt) } : undefined,
  });

  let issued: { expiresAt: number; messageId: string } | undefined;
  if (outcome === 'issued') {
    const ctx: AuthContext = { em, config: deps.config, clock: deps.clock };
    const { token, expiresAt } = await issueLoginToken(ctx, user!, deps.config.loginTokenTtlMs);
    const reply = await queueMessage(
      em,
      {
        device: { id: bot.deviceId, userId: bot.userId, sessionId: bot.sessionId },
        recipient: { jid: chatJid, kind: 'person' },
        content: { type: 'text', text: loginReplyText(token, deps.config.loginTokenTtlMs) },
        idempotencyKey: `login-bot-${event.eventId}`,
        priority: 10,
      },
      now,
    );
    issued = { expiresAt: expiresAt.getTime(), messageId: reply.messageId };
  }
  // Whoever is refused hears nothing: no answer tells a stranger whether a number is registered, and a flood of
  // `/login` makes the bot send nothing.
  await appendToStream(
    em,
    stream,
    [
      {
        eventId: recordId,
        event: {
          type: 'auth.bot-login-requested',
          data: {
            outcome,
            ...(number ? { number } : {}),
            sender,
            requestedAt: event.recordedAt.toISOString(),
            inboundEventId: event.eventId,
            ...(user ? { userId: user.id } : {}),
            ...issued,
          },
        },
      },
    ],
    {
      expectedVersion: version ? Number(version.version) : 'no-stream',
      metadata: { tenantId: bot.userId, deviceId: bot.deviceId, sessionId: bot.sessionId, causationId: event.eventId },
    },
  );
}

export function loginBotReactor(deps: LoginBotDeps): Projection {
  return {
    name: 'login-bot',
    handles: ['message.received'],
    async apply(sql, events, em) {
      const bot = await designatedBot(sql);
      if (!bot) return;
      for (const event of events) {
        const { chatJid, text } = event.data as unknown as EventPayloads['message.received'];
        const oneToOne = pnOf(chatJid) !== undefined || lidOf(chatJid) !== undefined;
        if (event.metadata.deviceId !== bot.deviceId || event.recordedAt < bot.designatedAt || !oneToOne || !isLoginCommand(text)) continue;
        await answer(em, sql, deps, bot, event);
      }
    },
    // Nothing to empty: tokens issued and replies queued are not taken back (and a rerun answers nothing twice).
    async reset() {},
  };
}
