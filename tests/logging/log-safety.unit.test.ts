import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { isSecretName, REDACTED } from '../../src/log-safety.ts';

// What the platform's logger writes, line by line, at debug.
function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ logLevel: 'debug' }, destination), lines, last: () => JSON.parse(lines.at(-1)!) as Record<string, any> };
}

const key = randomBytes(32);

test('secret-sounding names are redacted at any depth, in any spelling; numbers and booleans under them stay', () => {
  const { logger, last } = capture();
  logger.info(
    {
      password: 'hunter2',
      apiKey: 'sk-provider-key',
      provider: { api_key: 'sk-nested', settings: { secret: 'deep' } },
      headers: { Authorization: 'Bearer abc', 'x-api-token': 'tok', accept: 'application/json' },
      creds: { advSecretKey: 'c2VjcmV0' },
      session: { currentRatchet: { rootKey: 'cm9vdA==', ephemeralKeyPair: { privKey: 'cHJpdg==' } } },
      qr: '2@ref,noise,identity,advsecret,android',
      tokenCount: 3,
      allowPrivate: false,
      key: { remoteJid: '6281@s.whatsapp.net', id: '3EB0', fromMe: true },
    },
    'logged',
  );
  const line = last();
  assert.equal(line.password, REDACTED);
  assert.equal(line.apiKey, REDACTED);
  assert.equal(line.provider.api_key, REDACTED);
  assert.equal(line.provider.settings.secret, REDACTED);
  assert.equal(line.headers.Authorization, REDACTED);
  assert.equal(line.headers['x-api-token'], REDACTED);
  assert.equal(line.headers.accept, 'application/json');
  assert.equal(line.creds, REDACTED);
  assert.equal(line.session.currentRatchet.rootKey, REDACTED);
  assert.equal(line.session.currentRatchet.ephemeralKeyPair, REDACTED);
  assert.equal(line.qr, REDACTED);
  assert.equal(line.tokenCount, 3);
  assert.equal(line.allowPrivate, false);
  assert.deepEqual(line.key, { remoteJid: '6281@s.whatsapp.net', id: '3EB0', fromMe: true }, "a message's key is not a secret");
  assert.equal(line.msg, 'logged');
});

test('binary values are printed as their length whatever they are called, also inside arrays, errors and JSON-ed Buffers', () => {
  const { logger, lines } = capture();
  const error = Object.assign(new Error('bad mac'), { data: { payload: key } });
  logger.debug(
    {
      whatever: key,
      nested: { list: [new Uint8Array(key), { deeper: key.buffer.slice(0) }] },
      json: JSON.parse(JSON.stringify({ b: key })).b,
      err: error,
      error,
    },
    'binary',
  );
  const text = lines.at(-1)!;
  for (const form of [key.toString('base64'), key.toString('hex'), [...key.subarray(0, 8)].join(',')]) assert.ok(!text.includes(form), `no ${form}`);
  const line = JSON.parse(text);
  assert.equal(line.whatever, '[Buffer 32 bytes]');
  assert.equal(line.nested.list[0], '[Uint8Array 32 bytes]');
  assert.equal(line.nested.list[1].deeper, '[ArrayBuffer 32 bytes]');
  assert.equal(line.json, '[Buffer 32 bytes]');
  assert.equal(line.err.type, 'Error');
  assert.equal(line.err.message, 'bad mac');
  assert.match(line.err.stack, /bad mac/);
  assert.equal(line.err.data.payload, '[Buffer 32 bytes]');
  assert.equal(line.error.message, 'bad mac', 'an error under another name is serialized as pino serializes err');
});

test('circular and very deep objects are cut, not thrown on', () => {
  const { logger, last } = capture();
  const loop: Record<string, unknown> = { name: 'loop' };
  loop.self = loop;
  let deep: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < 20; i++) deep = { deep };
  logger.info({ loop, deep, shared: [key, key] });
  const line = last();
  assert.equal(line.loop.self, '[Circular]');
  assert.match(JSON.stringify(line.deep), /\[Object\]/);
  assert.deepEqual(line.shared, ['[Buffer 32 bytes]', '[Buffer 32 bytes]'], 'a value seen twice, not in a loop, is shown twice');
});

test('a request line keeps method and URL, with ?token= redacted, and no headers', () => {
  const { logger, last } = capture();
  logger.info({ req: { method: 'GET', url: '/api/whatsapp/events/stream?after=3&token=eyJhbGciOi.secret', ip: '127.0.0.1', headers: { authorization: 'Bearer x' } } }, 'incoming request');
  assert.deepEqual(last().req, { method: 'GET', url: '/api/whatsapp/events/stream?after=3&token=[redacted]', ip: '127.0.0.1' });
});

test('secret names', () => {
  for (const name of ['password', 'newPassword', 'apiKey', 'api_key', 'x-device-api-key', 'Authorization', 'jwt', 'webhookSecret', 'privKey', 'noiseKey', 'signedIdentityKey', 'signedPreKey', 'advSecretKey', 'tctoken', 'set-cookie']) {
    assert.ok(isSecretName(name), name);
  }
  for (const name of ['key', 'keyId', 'jid', 'id', 'messageId', 'status', 'url', 'count', 'sessionId']) assert.ok(!isSecretName(name), name);
});
