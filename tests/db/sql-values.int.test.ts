import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { databaseRefusal, UNIQUE_CONSTRAINTS } from '../../src/db/database-errors.ts';
import { UserSchema } from '../../src/db/entities/user.ts';
import { bindParameters, quotedName } from '../../src/db/sql-parameters.ts';
import { transaction } from '../../src/db/transactions.ts';
import { readFeed, sqlOf, START } from '../../src/events/event-store.ts';
import { useTestDatabase } from '../helpers/database.ts';

// Issue 11 items 2 and 3: every SQL value a parameter, database errors mapped.
const db = useTestDatabase();

test('placeholders become bind parameters: arrays expand, \\? is literal, ?? and miscounts are refused', () => {
  const at = new Date('2026-01-02T03:04:05.000Z');
  assert.deepEqual(bindParameters('select * from t where a = ? and b in (?) and c > ? and d \\? ?', [1, ['x', 'y'], at, 'k']), {
    sql: 'select * from t where a = $1 and b in ($2, $3) and c > $4 and d ? $5',
    parameters: [1, 'x', 'y', at.toISOString(), 'k'],
  });
  assert.throws(() => bindParameters('select ?? from t', ['name']), /identifiers are not parameters/);
  assert.throws(() => bindParameters('select ? + ?', [1]), /more placeholders/);
  assert.throws(() => bindParameters('select ?', [1, 2]), /2 parameters for 1 placeholders/);
  assert.throws(() => bindParameters('select 1 where 1 in (?)', [Array.from({ length: 70_000 }, (_, i) => i)]), /more than PostgreSQL takes/);
  assert.equal(quotedName('sent', ['queued', 'sent']), '"sent"');
  assert.throws(() => quotedName('sent" = 1; --', ['queued', 'sent']), /is not one of/);
});

test('hostile values through raw SQL come back as values, never as SQL', async () => {
  const sql = sqlOf(db.orm.em.fork());
  const hostile = ["x'); drop table events; --", 'a\\', "E'\\x00'", '$1', '?', '"infinity"'];
  for (const value of hostile) {
    const [row] = await sql('select ?::text as v', [value]);
    assert.equal(row!.v, value);
  }
  const [listed] = await sql('select array_length(array[?]::text[], 1) as n', [hostile]);
  assert.equal(Number(listed!.n), hostile.length);
  // Infinity as a value is PostgreSQL's to judge (bigint refuses it: 22P02), not a name ("column infinity").
  await assert.rejects(readFeed(db.orm.em.fork(), START, Infinity), (err: { code?: string }) => err.code === '22P02');
  await assert.rejects(sql('select 1 limit ?', [Number.NaN]), (err: { code?: string }) => err.code === '22P02');
  assert.equal((await sql('select count(*) as n from events'))[0]!.n !== undefined, true, 'the events table is still there');
});

test("the ORM's own statements carry their values as parameters too", async () => {
  // Inlined, Infinity is a name (42703: column "infinity" does not exist); bound, a value PostgreSQL refuses.
  await assert.rejects(db.orm.em.fork().find(UserSchema, { id: Infinity }), (err: { code?: string }) => err.code === '22P02');
  const em = db.orm.em.fork();
  const username = "o'brien\\'); drop table users; --?";
  em.create(UserSchema, { username, passwordHash: 'x', role: 'user', createdAt: new Date() } as never);
  await em.flush();
  const found = await db.orm.em.fork().findOneOrFail(UserSchema, { username: { $in: [username, '??'] } });
  assert.equal(found.username, username);
  const [row] = await db.orm.em.fork().getConnection().execute('select ?::text as v, ?? as n from (select 1 as "a b") t', ['?', 'a b']);
  assert.deepEqual({ ...row }, { v: '?', n: 1 });
});

// Every value a statement needs travels as a parameter; what is spelled into SQL text is a fixed name, a list of
// placeholders, or a clause of placeholders chosen by code. A new interpolation into a statement must be added
// here, which asks its author to show it is one of those.
const SPELLED_INTO_SQL = new Set([
  'scope', // health.ts: '' or a clause with a placeholder
  "scope.replace('user_id', 'tenant_id')",
  "clauses.map(([c]) => c).join(' and ')", // clauses of placeholders
  "clauses.map(([c]) => `and ${c}`).join(' ')",
  "where.join(' and ')",
  'where',
  "['tenant_id = ?', ...among.where].join(' and ')",
  'values', // lists of placeholders
  "[...pairs.values()].map(() => '(?, ?, ?, ?)').join(', ')",
  "rows.map(() => placeholders).join(', ')",
  'sql', // event-store.ts filterSql: clauses of placeholders
  'upTo',
  "options.deviceId === undefined ? '' : 'and d.id = ?'",
  "after ? 'and (created_at, message_id) < (?::timestamptz, ?)' : ''",
  "after ? 'and (created_at, id) < (?::timestamptz, ?)' : ''", // file-views.ts
  'EVENTS_CHANNEL', // constants
  'COLUMNS',
  "COLUMNS.join(', ')",
  "COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')",
  'DELIVERY_COLUMNS',
  'DAILY_LIST', // messages.ts: message_stats_daily's status columns, quoted from a fixed list
  'DAILY_TYPES',
  'DAILY_SUMS',
  'claim.sql', // event-store.ts: one of three fixed claims of a stream's versions
  'FENCE', // auth-state.ts: the fence check every auth-state write joins
  'BY_NUMBER',
  "mapped('chat_jid')",
  'column', // quotedName() from a fixed list, or a fixed column name
  'MS', // postgres-coordination.ts: fixed SQL fragments (a unit, a count of live listeners, milliseconds left)
  'MS_LEFT',
  'LIVE_SUBSCRIPTIONS',
]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

test('no statement in src/ spells a value into its text, and none bypasses bind parameters', () => {
  const statement = /\b(select\s.+\sfrom|insert\s+into|update\s+\w+\s+(\w+\s+)?set|delete\s+from|where\s)/is;
  const template = /`(?:[^`\\$]|\\.|\$(?!\{)|\$\{(?:[^{}`]|\{[^{}]*\}|`[^`]*`)*\})*`/g;
  const interpolation = /\$\{((?:[^{}`]|\{[^{}]*\}|`[^`]*`)*)\}/g;
  const unknown: string[] = [];
  for (const file of sourceFiles('src')) {
    const text = readFileSync(file, 'utf8');
    // MikroORM's execute() spells its parameters into the statement; raw SQL goes through sqlOf().
    assert.doesNotMatch(text, /getConnection\(\)\s*\.execute(<[^>]*>)?\([^)]*,\s*\[/, `${file} passes values to getConnection().execute()`);
    for (const [literal] of text.matchAll(template)) {
      if (!statement.test(literal)) continue;
      for (const [, expression] of literal.matchAll(interpolation)) if (!SPELLED_INTO_SQL.has(expression!)) unknown.push(`${file}: \${${expression}}`);
    }
  }
  assert.deepEqual(unknown, []);
});

test('every unique constraint the API names exists, and a violation of each maps to its code', async () => {
  const sql = sqlOf(db.orm.em.fork());
  const rows = await sql(
    `select conname as name from pg_constraint where contype = 'u'
     union select indexname from pg_indexes where indexdef like 'CREATE UNIQUE INDEX%'`,
  );
  const existing = new Set(rows.map((r) => String(r.name)));
  for (const name of Object.keys(UNIQUE_CONSTRAINTS)) assert.ok(existing.has(name), `${name} is not a constraint of the schema`);
  // A real violation, as pg reports it.
  await sql(`insert into users (username, password_hash, role, created_at) values ('dup', 'x', 'user', now())`);
  const err = await sql(`insert into users (username, password_hash, role, created_at) values ('dup', 'x', 'user', now())`).catch((e: unknown) => e);
  assert.deepEqual(databaseRefusal(err), { code: 'USER_ALREADY_EXISTS', message: 'A user with this username already exists' });
  assert.equal(databaseRefusal({ code: '23505', constraint: 'some_new_unique' })?.code, 'ALREADY_EXISTS');
  assert.equal(databaseRefusal({ code: '40P01' })?.code, 'SERVICE_UNAVAILABLE');
  assert.equal(databaseRefusal({ code: '23503', constraint: 'api_keys_device_id_foreign' })?.code, 'NOT_FOUND');
  assert.equal(databaseRefusal({ code: '22003' })?.code, 'VALIDATION_ERROR');
  assert.equal(databaseRefusal({ code: '42P01' }), undefined, 'our own mistakes stay 500s');
  assert.equal(databaseRefusal({ code: 'FST_ERR_VALIDATION' }), undefined);
});

const failWith = (state: string) => `do $$ begin raise exception 'conflict' using errcode = '${state}'; end $$`;

test('a transaction aborted as a serialization failure or deadlock runs again; its first attempt left nothing', async () => {
  const sql = sqlOf(db.orm.em.fork());
  await sql('create table retry_probe (attempt int not null)');
  for (const state of ['40001', '40P01']) {
    await sql('delete from retry_probe');
    let attempts = 0;
    const result = await transaction(db.orm.em.fork(), async (tx) => {
      attempts++;
      await sqlOf(tx)('insert into retry_probe (attempt) values (?)', [attempts]);
      if (attempts === 1) await sqlOf(tx)(failWith(state));
      return 'done';
    });
    assert.equal(result, 'done');
    assert.equal(attempts, 2);
    assert.deepEqual((await sql('select attempt from retry_probe')).map((r) => r.attempt), [2]);
  }
  // Other failures are not retried, nor is a transaction nested in another (the outer one is what runs again).
  let attempts = 0;
  await assert.rejects(transaction(db.orm.em.fork(), async (tx) => void (attempts++, await sqlOf(tx)(failWith('23505')))));
  assert.equal(attempts, 1);
  attempts = 0;
  await assert.rejects(
    transaction(db.orm.em.fork(), (outer) => transaction(outer, async (tx) => void (attempts++, await sqlOf(tx)(failWith('40001'))))),
  );
  assert.equal(attempts, 4, 'the outer transaction ran again, the inner one with it, until it gave up');
});
