import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { captureConsole } from '../../src/console-capture.ts';
import { createLogger } from '../../src/logger.ts';

// libsignal's own code, as Baileys runs it.
const { SessionRecord } = createRequire(import.meta.url)('libsignal') as {
  SessionRecord: { new (): { closeSession(entry: unknown): void }; createEntry(): Record<string, any> };
};

function capture() {
  const lines: Record<string, any>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ logLevel: 'trace' }, destination), lines };
}

// A session as libsignal keeps it: the keys a "Closing session:" dump would print.
function sessionEntry(rootKey: Buffer, privKey: Buffer) {
  const entry = SessionRecord.createEntry();
  entry.registrationId = 1234;
  entry.currentRatchet = { rootKey, ephemeralKeyPair: { pubKey: randomBytes(33), privKey }, lastRemoteEphemeralKey: randomBytes(33), previousCounter: 0 };
  entry.indexInfo = { baseKey: randomBytes(33), baseKeyType: 1, closed: -1, used: Date.now(), created: Date.now(), remoteIdentityKey: randomBytes(33) };
  entry._chains = {};
  return entry;
}

test("libsignal's session dump goes to pino at debug as its text and the kind of the entry, never its keys", () => {
  const { logger, lines } = capture();
  const release = captureConsole(logger);
  const rootKey = randomBytes(32);
  const privKey = randomBytes(32);
  try {
    new SessionRecord().closeSession(sessionEntry(rootKey, privKey));
  } finally {
    release();
  }
  assert.equal(lines.length, 1);
  const [line] = lines;
  assert.equal(line!.level, 20, 'debug');
  assert.equal(line!.source, 'libsignal');
  assert.equal(line!.module, 'console');
  assert.equal(line!.msg, 'Closing session: [SessionEntry]');
  const text = JSON.stringify(lines);
  for (const secret of [rootKey, privKey]) for (const form of [secret.toString('base64'), secret.toString('hex')]) assert.ok(!text.includes(form));
});

test('our own console calls keep the console; several holders: the newest gets the lines; the last release restores the console', () => {
  const ours: unknown[][] = [];
  const original = console.info;
  const spy = (...args: unknown[]) => void ours.push(args);
  console.info = spy;
  try {
    const first = capture();
    const second = capture();
    const releaseFirst = captureConsole(first.logger);
    const releaseSecond = captureConsole(second.logger);
    assert.notEqual(console.info, spy);
    console.info('from the test itself', { secret: 'x' });
    assert.deepEqual(ours, [['from the test itself', { secret: 'x' }]], 'passed to the console as it was');

    new SessionRecord().closeSession(sessionEntry(randomBytes(32), randomBytes(32)));
    assert.equal(second.lines.length, 1);
    assert.equal(first.lines.length, 0);
    releaseSecond();
    new SessionRecord().closeSession(sessionEntry(randomBytes(32), randomBytes(32)));
    assert.equal(first.lines.length, 1);
    releaseFirst();
    assert.equal(console.info, spy, 'restored');
    releaseFirst();
    assert.equal(console.info, spy, 'a second release changes nothing');
  } finally {
    console.info = original;
  }
});

test("libsignal's warnings are debug and its errors warn; an error argument is its name and message", () => {
  const { logger, lines } = capture();
  const release = captureConsole(logger);
  const entry = sessionEntry(randomBytes(32), randomBytes(32));
  entry.indexInfo.closed = Date.now();
  try {
    // "Session already closed" with the entry.
    new SessionRecord().closeSession(entry);
  } finally {
    release();
  }
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [[20, 'Session already closed [SessionEntry]']]);
});
