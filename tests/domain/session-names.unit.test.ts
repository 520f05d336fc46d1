import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALIAS_MAX, aliasOf, cleanSessionName, SESSION_NAME_PATTERN } from '../../src/domain/session-names.ts';

test("a session name's alias is its URL-safe form", () => {
  assert.equal(aliasOf('Business Support'), 'Business-Support');
  assert.equal(aliasOf('  Personal Account  '), 'Personal-Account');
  assert.equal(aliasOf('User 1 Session'), 'User-1-Session');
  assert.equal(aliasOf('Ana & Co. / Sales!'), 'Ana-Co.-Sales');
  assert.equal(aliasOf('Café Übersee'), 'Cafe-Ubersee');
  assert.equal(aliasOf('🚀 Launch'), 'Launch');
});

test('a name that is already an alias is kept as it is', () => {
  for (const name of ['support', 'a--b', 'x-', '-x', 'v1.2_beta']) assert.equal(aliasOf(name), name);
});

test('a long name is cut to the alias limit without a dangling dash', () => {
  const alias = aliasOf(`${'a'.repeat(63)} tail`);
  assert.equal(alias, 'a'.repeat(63));
  assert.ok(aliasOf('word '.repeat(30)).length <= ALIAS_MAX);
});

test('a name with nothing URL-safe in it gets a stable alias of its own', () => {
  const alias = aliasOf('客服');
  assert.match(alias, /^session-[0-9a-f]{12}$/);
  assert.equal(aliasOf(' 客服 '), alias, 'the same name, trimmed');
  assert.notEqual(aliasOf('销售'), alias);
});

test('every alias fits the alias rule', () => {
  for (const name of ['Business Support', '客服', '- -', '...', `${'é'.repeat(200)}`]) {
    const alias = aliasOf(name);
    assert.match(alias, /^[A-Za-z0-9_.-]+$/, name);
    assert.ok(alias.length <= ALIAS_MAX, name);
  }
});

test('names: printable text with something visible; no control characters', () => {
  const valid = new RegExp(SESSION_NAME_PATTERN);
  for (const good of ['Business Support', '客服', ' x ', 'Ana & Co.']) assert.ok(valid.test(good), good);
  for (const bad of ['', '   ', 'a\nb', 'tab\there', 'nul\u0000', 'c1\u0085']) assert.ok(!valid.test(bad), JSON.stringify(bad));
  assert.equal(cleanSessionName('  Business Support \u00a0'), 'Business Support');
});
