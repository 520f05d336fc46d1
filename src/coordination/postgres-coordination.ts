import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import type { Coordination, Subscription } from './coordination.ts';

// Coordination in PostgreSQL (no REDIS_URL): the coordination_* tables of migrations/Migration20261202120000_coordination.ts,
// one statement per operation, every expiry by the database's clock. Messages between processes are NOTIFYs on one
// channel per coordination channel, received by one LISTEN connection per process; who listens is recorded by that
// connection and counted among the live backends, so a publish knows at once when nobody (any longer) listens.

export interface PostgresCoordinationOptions {
  // The caller's pool (not ended by close()).
  pool: pg.Pool;
  // For the LISTEN connection of this instance.
  databaseUrl: string;
  logger?: Logger;
  // How often lapsed rows are deleted (a minute unless given).
  sweepMs?: number;
}

// NOTIFY payloads end at 8,000 bytes; a larger message waits in coordination_messages and the notification names it.
const INLINE_BYTES = 7000;
const SWEEP_MS = 60_000;
const RECONNECT_MS = 1000;

// PostgreSQL channel names are identifiers (63 bytes at most): a digest of ours, which may be longer or odd.
const pgChannel = (channel: string) => `coord_${createHash('sha256').update(channel).digest('hex').slice(0, 40)}`;

const MS = `* interval '1 millisecond'`;
// Subscriptions of `channel` (the statement's third parameter) whose connection is still there.
const LIVE_SUBSCRIPTIONS = `(select count(*)::int from coordination_subscriptions s
  join pg_stat_activity a on a.pid = s.backend_pid and a.backend_start = s.backend_start where s.channel = $3)`;
const MS_LEFT = `greatest(0, ceil(extract(epoch from (expires_at - clock_timestamp())) * 1000))::bigint`;

// Runs each piece of work once the one before it has settled, whatever its outcome.
function sequence() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work);
    tail = run.catch(() => {});
    return run;
  };
}

export async function createPostgresCoordination({ pool, databaseUrl, logger, sweepMs = SWEEP_MS }: PostgresCoordinationOptions): Promise<Coordination> {
  const rows = async (text: string, values: unknown[] = []) => (await pool.query(text, values)).rows;

  // By PostgreSQL channel: our channel's name, its handlers, and when its LISTEN is live.
  const channels = new Map<string, { channel: string; each: Set<(message: string) => void>; live: Promise<unknown> }>();
  const interrupted = new Set<() => void>();
  let listener: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let closed = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  // Notifications are handled one after another: a stored message read from its table must not be overtaken.
  let delivering: Promise<void> = Promise.resolve();

  const deliver = (name: string, payload: string) => {
    delivering = delivering.then(async () => {
      const subscribed = channels.get(name);
      if (!subscribed) return;
      let message = payload.slice(1);
      if (payload[0] === 'r') {
        const [row] = await rows('select payload from coordination_messages where id = $1', [message]);
        if (!row) return;
        message = String(row.payload);
      }
      for (const handler of subscribed.each) handler(message);
    }).catch((err: unknown) => logger?.warn({ err }, 'a coordination message could not be read'));
  };

  const publishing = sequence();
  const notify = async (channel: string, message: string): Promise<number> => {
    const name = pgChannel(channel);
    const [row] =
      Buffer.byteLength(message) <= INLINE_BYTES
        ? await rows(`select pg_notify($1, 'i' || $2), ${LIVE_SUBSCRIPTIONS} as n`, [name, message, channel])
        : await rows(
            `with m as (insert into coordination_messages (payload) values ($2) returning id)
             select pg_notify($1, 'r' || m.id), ${LIVE_SUBSCRIPTIONS} as n from m`,
            [name, message, channel],
          );
    return Number(row!.n);
  };

  // The LISTEN connection's statements run one after another, in the order asked (pg warns of, and will refuse,
  // a query issued while another runs on the same client).
  const serially = sequence();

  const listenOn = (client: pg.Client, name: string, channel: string) =>
    serially(async () => {
      await client.query(`listen "${name}"`);
      await client.query(
        `insert into coordination_subscriptions (channel, backend_pid, backend_start)
         select $1, pid, backend_start from pg_stat_activity where pid = pg_backend_pid() on conflict do nothing`,
        [channel],
      );
    });

  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: databaseUrl, keepAlive: true });
    client.on('notification', (msg) => deliver(msg.channel, msg.payload ?? ''));
    // A connection cut while a query runs ends without an 'error' event, one cut while idle has both.
    let lost = false;
    const lose = (err?: Error) => {
      if (lost || closed) return;
      lost = true;
      // Messages published until the new connection listens are lost, as on a Redis reconnect.
      logger?.warn({ err }, 'coordination lost its LISTEN connection; reconnecting');
      if (listener === client) listener = undefined;
      client.end().catch(() => {});
      for (const notice of interrupted) notice();
      scheduleReconnect();
    };
    client.on('error', lose);
    client.on('end', () => lose());
    await client.connect();
    for (const [name, { channel }] of channels) await listenOn(client, name, channel);
    listener = client;
    return client;
  };
  // Until the LISTEN is live, through reconnections (Redis, too, holds a SUBSCRIBE while it reconnects); not for a
  // channel closed meanwhile.
  const listenLive = async (name: string, channel: string, each: Set<(message: string) => void>) => {
    for (;;) {
      try {
        const client = await listening();
        if (channels.get(name)?.each === each) await listenOn(client, name, channel);
        return;
      } catch (err) {
        if (closed) throw err;
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    }
  };
  const listening = (): Promise<pg.Client> => {
    if (closed) return Promise.reject(new Error('coordination is closed'));
    return listener ? Promise.resolve(listener) : (connecting ??= connect().finally(() => (connecting = undefined)));
  };
  const scheduleReconnect = () => {
    if (closed || reconnectTimer || !channels.size) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      listening().catch(() => scheduleReconnect());
    }, RECONNECT_MS);
    reconnectTimer.unref();
  };

  // Lapsed rows are invisible at once; this only keeps the tables small.
  const sweep = setInterval(() => {
    void pool
      .query(
        `with v as (delete from coordination_values where expires_at <= clock_timestamp()),
              c as (delete from coordination_counters where expires_at <= clock_timestamp()),
              s as (delete from coordination_slots where (released or expires_at <= clock_timestamp()) and granted_at < clock_timestamp() - interval '2 seconds'),
              m as (delete from coordination_messages where created_at < clock_timestamp() - interval '5 minutes')
         delete from coordination_subscriptions s where not exists
           (select 1 from pg_stat_activity a where a.pid = s.backend_pid and a.backend_start = s.backend_start)`,
      )
      .catch((err: unknown) => logger?.warn({ err }, 'coordination sweep failed'));
  }, sweepMs);
  sweep.unref();

  return {
    kind: 'postgres',
    async set(key, value, ttlMs) {
      await pool.query(
        `insert into coordination_values (key, value, expires_at) values ($1, $2, clock_timestamp() + $3 ${MS})
         on conflict (key) do update set value = excluded.value, expires_at = excluded.expires_at`,
        [key, value, ttlMs],
      );
    },
    async setIfAbsent(key, value, ttlMs) {
      const { rowCount } = await pool.query(
        `insert into coordination_values (key, value, expires_at) values ($1, $2, clock_timestamp() + $3 ${MS})
         on conflict (key) do update set value = excluded.value, expires_at = excluded.expires_at
           where coordination_values.expires_at <= clock_timestamp()`,
        [key, value, ttlMs],
      );
      return rowCount === 1;
    },
    async get(key) {
      const [row] = await rows('select value from coordination_values where key = $1 and expires_at > clock_timestamp()', [key]);
      return row ? String(row.value) : undefined;
    },
    async take(key) {
      const [row] = await rows('delete from coordination_values where key = $1 returning value, expires_at > clock_timestamp() as live', [key]);
      return row?.live ? String(row.value) : undefined;
    },
    async ttl(key) {
      const [row] = await rows(`select ${MS_LEFT} as ms from coordination_values where key = $1 and expires_at > clock_timestamp()`, [key]);
      return row ? Number(row.ms) : 0;
    },
    async delete(key) {
      await pool.query(
        'with v as (delete from coordination_values where key = $1) delete from coordination_set_members where key = $1',
        [key],
      );
    },
    async addToSet(key, member) {
      await pool.query('insert into coordination_set_members (key, member) values ($1, $2) on conflict do nothing', [key, member]);
    },
    async members(key) {
      return (await rows('select member from coordination_set_members where key = $1 order by member', [key])).map((r) => String(r.member));
    },
    async hit(key, windowMs) {
      const [row] = await rows(
        `insert into coordination_counters as c (key, count, expires_at) values ($1, 1, clock_timestamp() + $2 ${MS})
         on conflict (key) do update set (count, expires_at) = (
           select case when lapsed then 1 else c.count + 1 end, case when lapsed then clock_timestamp() + $2 ${MS} else c.expires_at end
           -- Read once: a window lapsing between two readings would carry its count into the next.
           from (select c.expires_at <= clock_timestamp() as lapsed) window_state)
         returning count, ${MS_LEFT} as ms`,
        [key, windowMs],
      );
      return { count: Number(row!.count), ttlMs: Number(row!.ms) };
    },
    async acquireLease(name, owner, ttlMs, above = 0) {
      const [row] = await rows(
        `insert into coordination_leases as l (name, owner, token, expires_at) values ($1, $2, $4::bigint + 1, clock_timestamp() + $3 ${MS})
         on conflict (name) do update set owner = excluded.owner, token = greatest(l.token, $4::bigint) + 1, expires_at = excluded.expires_at
           where l.owner is null or l.expires_at <= clock_timestamp()
         returning token`,
        [name, owner, ttlMs, above],
      );
      return row ? Number(row.token) : undefined;
    },
    async renewLease(name, owner, token, ttlMs) {
      const { rowCount } = await pool.query(
        `update coordination_leases set expires_at = clock_timestamp() + $4 ${MS}
         where name = $1 and owner = $2 and token = $3 and expires_at > clock_timestamp()`,
        [name, owner, token, ttlMs],
      );
      return rowCount === 1;
    },
    async releaseLease(name, owner, token) {
      await pool.query('update coordination_leases set owner = null, expires_at = clock_timestamp() where name = $1 and owner = $2 and token = $3', [
        name,
        owner,
        token,
      ]);
    },
    async leaseHolder(name) {
      const [row] = await rows('select owner, token from coordination_leases where name = $1 and owner is not null and expires_at > clock_timestamp()', [name]);
      return row ? { owner: String(row.owner), token: Number(row.token) } : undefined;
    },
    async acquireSlot(key, max, leaseMs, perSecond) {
      const token = randomUUID();
      const [row] = await rows('select coordination_acquire_slot($1, $2, $3, $4, $5) as granted', [key, max, leaseMs, perSecond, token]);
      return row?.granted ? token : undefined;
    },
    async releaseSlot(key, token) {
      await pool.query('update coordination_slots set released = true where key = $1 and token = $2', [key, token]);
    },
    // Publishes go out one after another, in the order called, as on Redis's one connection: two statements in
    // flight on the pool's connections could commit, and so notify, in either order.
    publish: (channel, message) => publishing(() => notify(channel, message)),
    async subscribe(channel, onMessage, onInterrupted): Promise<Subscription> {
      if (closed) throw new Error('coordination is closed');
      const interruption = onInterrupted && (() => onInterrupted());
      if (interruption) interrupted.add(interruption);
      const name = pgChannel(channel);
      let subscribed = channels.get(name);
      if (!subscribed) {
        const each = new Set<(message: string) => void>();
        channels.set(name, (subscribed = { channel, each, live: listenLive(name, channel, each) }));
      }
      const { each, live } = subscribed;
      each.add(onMessage);
      await live;
      return {
        async close() {
          if (interruption) interrupted.delete(interruption);
          each.delete(onMessage);
          if (each.size || channels.get(name)?.each !== each) return;
          channels.delete(name);
          // Issued at once when connected, so that a LISTEN of the same channel subscribed again comes after it.
          const client = listener ?? (await connecting?.catch(() => undefined));
          if (!client || channels.has(name)) return;
          await serially(async () => {
            await client.query(`unlisten "${name}"`);
            await client.query('delete from coordination_subscriptions where channel = $1 and backend_pid = pg_backend_pid()', [channel]);
          }).catch(() => {});
        },
      };
    },
    async ping() {
      await pool.query('select 1');
    },
    async close() {
      closed = true;
      clearInterval(sweep);
      clearTimeout(reconnectTimer);
      channels.clear();
      interrupted.clear();
      const client = listener ?? (await connecting?.catch(() => undefined));
      listener = undefined;
      // Its subscriptions end with its backend.
      await client?.end().catch(() => {});
    },
  };
}
