import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { designateLoginBot } from '../../src/auth/login-bot.ts';
import { sha256Hex } from '../../src/auth/secrets.ts';
import { loadConfig } from '../../src/config.ts';
import type { EventPayloads } from '../../src/domain/events.ts';
import { appendToStream, sqlOf } from '../../src/events/event-store.ts';
import { lidMappingsProjection } from '../../src/events/projections/lid-mappings.ts';
import type { Projection } from '../../src/events/projections/projection.ts';
import { resetProjection, runBatch } from '../../src/events/projections/runner.ts';
import { LidMapBehindError, loginBotReactor } from '../../src/workers/login-bot/reactor.ts';
import { insertDevice, settleProjection, useTestDatabase } from '../helpers/database.ts';
import { until } from '../helpers/wait.ts';

// The login-bot reactor against the real event store, below the HTTP API and WhatsApp: what a crash mid-batch, a
// rerun from a reset checkpoint, a late request and a LID map that lags behind do.
let bot: { userId: number; deviceId: number };
const db = useTestDatabase(async (orm) => {
  bot = await insertDevice(orm, 'bot');
  await designateLoginBot(orm.em.fork(), { userId: bot.userId, username: 'owner-bot', role: 'admin', via: 'jwt' }, bot.deviceId, new Date(Date.now() - 60_000));
  await sqlOf(orm.em.fork())(`insert into users (username, password_hash, role, created_at, phone_number) values ('ana', 'x', 'user', now(), '+6281600000101')`);
});
const config = loadConfig({});
const sql = () => sqlOf(db.orm.em.fork());

async function receive(from: string, text = '/login'): Promise<string> {
  const messageId = `in_${randomUUID()}`;
  const data: EventPayloads['message.received'] = { messageId, waMessageId: randomUUID(), chatJid: from, from, messageType: 'conversation', text, timestamp: 1 };
  await appendToStream(db.orm.em.fork(), `message-${messageId}`, [{ event: { type: 'message.received', data } }], {
    expectedVersion: 'no-stream',
    metadata: { tenantId: bot.userId, deviceId: bot.deviceId, sessionId: `user_${bot.userId}_device_bot` },
  });
  return messageId;
}

const outcomes = async (sender: string) =>
  (await sql()(`select data->>'outcome' as outcome from events where type = 'auth.bot-login-requested' and data->>'sender' = ? order by global_position`, [sender])).map((r) => r.outcome);
const replies = async (to: string) => (await sql()(`select data from events where type = 'message.queued' and data->>'to' = ?`, [to])).map((r) => r.data as EventPayloads['message.queued']);
const tokenRows = async () => Number((await sql()('select count(*) as n from login_tokens'))[0]!.n);

test('a crash before the batch commits leaves no token, reply or record; the rerun answers once; a reset checkpoint answers nothing again', async () => {
  const reactor = loginBotReactor({ config, clock: () => new Date() });
  await settleProjection(db.orm, reactor);
  const ana = '6281600000101@s.whatsapp.net';
  await receive(ana);

  let killed = false;
  const crashing: Projection = {
    ...reactor,
    async apply(run, events, em) {
      await reactor.apply(run, events, em);
      if (!killed) {
        killed = true;
        await run('select pg_terminate_backend(pg_backend_pid())');
      }
    },
  };
  // The message reaches the feed once transactions elsewhere on the server let it (transaction ids are
  // server-wide); until then a batch finds nothing to apply and does not crash.
  await until(() => runBatch(db.orm, crashing).then(() => undefined, () => true), 'the crashing batch');
  assert.ok(killed);
  assert.deepEqual([await tokenRows(), await outcomes(ana), (await replies(ana)).length], [0, [], 0], 'the crashed batch wrote nothing');

  await settleProjection(db.orm, reactor);
  const [reply] = await replies(ana);
  assert.deepEqual([await tokenRows(), await outcomes(ana)], [1, ['issued']]);
  const token = /wlt_[A-Za-z0-9_-]+/.exec(reply!.content.type === 'text' ? reply!.content.text : '')![0];
  assert.equal((await sql()('select 1 from login_tokens where token_hash = ?', [sha256Hex(token)])).length, 1, 'the token sent is the one stored');

  await resetProjection(db.orm, reactor);
  await settleProjection(db.orm, reactor);
  assert.deepEqual([await tokenRows(), await outcomes(ana), (await replies(ana)).length], [1, ['issued'], 1], 'read again from the start: nothing new');
});

test('a request read after its token would have expired is recorded as stale and not answered', async () => {
  const late = loginBotReactor({ config, clock: () => new Date(Date.now() + config.loginTokenTtlMs + 60_000) });
  await settleProjection(db.orm, late);
  await sql()(`update users set phone_number = '+6281600000102' where username = 'ana'`);
  const sender = '6281600000102@s.whatsapp.net';
  const before = await tokenRows();
  await receive(sender);
  await settleProjection(db.orm, late);
  assert.deepEqual([await outcomes(sender), await tokenRows(), (await replies(sender)).length], [['stale'], before, 0]);
});

test('a sender named by LID alone waits for the LID map to reach the message, then is looked up in it', async () => {
  const reactor = loginBotReactor({ config, clock: () => new Date() });
  await settleProjection(db.orm, reactor);
  await settleProjection(db.orm, lidMappingsProjection);
  await receive('90000000000001@lid');
  // The message reaches the feed once transactions elsewhere on the server let it (transaction ids are
  // server-wide); until then a batch finds nothing to do, and from then on it must refuse to decide.
  await until(async () => {
    try {
      await runBatch(db.orm, reactor);
      return undefined;
    } catch (err) {
      if (err instanceof LidMapBehindError) return true;
      throw err;
    }
  }, 'the reactor to find the LID map behind');
  assert.deepEqual(await outcomes('90000000000001@lid'), [], 'nothing decided while the map may only be late');
  await settleProjection(db.orm, lidMappingsProjection);
  await settleProjection(db.orm, reactor);
  assert.deepEqual(await outcomes('90000000000001@lid'), ['unknown-number']);
});
