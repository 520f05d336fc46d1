import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import { redact } from '../config.ts';
import { entities } from './entities/index.ts';
import { BoundPostgreSqlDriver } from './bound-connection.ts';

export type Orm = MikroORM;

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export function ormOptions(databaseUrl: string): Options {
  return {
    // Every statement the ORM sends carries its values as bind parameters (src/db/bound-connection.ts).
    driver: BoundPostgreSqlDriver,
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    migrations: { path: MIGRATIONS_DIR, pathTs: MIGRATIONS_DIR, emit: 'ts', snapshot: false, silent: true },
    // Tables written by hand (see migrations/): the event store, the PostgreSQL coordination, files. The entity diff
    // must never drop them.
    schemaGenerator: { skipTables: [...HAND_WRITTEN_TABLES] },
    pool: { max: 10 },
    // Passed to pg's Pool. A writer left idle inside a transaction would hold back every reader of the event log.
    driverOptions: { options: '-c idle_in_transaction_session_timeout=30s' },
  };
}

const HAND_WRITTEN_TABLES = [
  'events',
  'streams',
  'projection_checkpoints',
  'coordination_counters',
  'coordination_leases',
  'coordination_messages',
  'coordination_set_members',
  'coordination_slots',
  'coordination_subscriptions',
  'coordination_values',
  'files',
  'file_holds',
];

export function unreachableDatabase(databaseUrl: string, err: unknown): Error {
  const reason = err instanceof Error ? err.message : String(err);
  return new Error(
    `cannot reach PostgreSQL at ${redact(databaseUrl)} (${reason}) — start it with "docker compose up -d postgres" or set DATABASE_URL`,
  );
}

// A newcomer's `npm start` against a bare local PostgreSQL should not have to create the database by hand.
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    await client.connect();
  } catch (err) {
    throw unreachableDatabase(databaseUrl, err);
  }
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database "${name.replaceAll('"', '""')}"`);
  } catch (err) {
    // Another process may have created it in the meantime: PostgreSQL says so with 42P04, or, when both creates
    // race, with a unique violation on pg_database (23505). Anything else surfaces when the ORM connects.
    const code = (err as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw err;
  } finally {
    await client.end();
  }
}

export async function openOrm(databaseUrl: string): Promise<Orm> {
  await ensureDatabase(databaseUrl);
  const orm = new MikroORM(ormOptions(databaseUrl));
  try {
    await orm.em.getConnection().execute('select 1');
  } catch (err) {
    await orm.close(true);
    throw unreachableDatabase(databaseUrl, err);
  }
  return orm;
}
