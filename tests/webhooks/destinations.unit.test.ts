import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkWebhookUrl, isPrivateAddress } from '../../src/webhooks/destinations.ts';
import { createWebhookPoster } from '../../src/webhooks/post.ts';
import { startReceiver } from '../helpers/receivers.ts';

test('private, loopback, link-local and metadata addresses are private; public ones are not', () => {
  for (const address of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
    assert.ok(isPrivateAddress(address), address);
  }
  for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.ok(!isPrivateAddress(address), address);
});

test('saving a URL: private hosts and bad schemes are refused with INVALID_WEBHOOK_URL unless private ones are allowed', async () => {
  for (const url of ['http://127.0.0.1/hook', 'http://localhost:3000/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/', 'https://10.0.0.8/', 'http://metadata.google.internal/']) {
    await assert.rejects(checkWebhookUrl(url, false), { code: 'INVALID_WEBHOOK_URL' }, url);
  }
  for (const url of ['ftp://93.184.216.34/', 'not a url', 'http://user:pass@93.184.216.34/']) {
    await assert.rejects(checkWebhookUrl(url, true), { code: 'INVALID_WEBHOOK_URL' }, url);
  }
  assert.equal((await checkWebhookUrl('https://93.184.216.34/hook', false)).hostname, '93.184.216.34');
  assert.equal((await checkWebhookUrl('http://127.0.0.1:8080/hook', true)).port, '8080');
});

test('at delivery the address connected to is checked again: a name resolving inward is refused, unless allowed', async () => {
  const receiver = await startReceiver();
  const port = new URL(receiver.url).port;
  const strict = createWebhookPoster({ timeoutMs: 5000, allowPrivate: false });
  const lenient = createWebhookPoster({ timeoutMs: 5000, allowPrivate: true });
  try {
    // `localhost` stands for a public name whose DNS answer was changed to point inward after it was saved.
    const byName = await strict.post(new URL(`http://localhost:${port}/hook`), {}, '{}');
    assert.match(byName.error ?? '', /private address/);
    const byAddress = await strict.post(new URL(receiver.url), {}, '{}');
    assert.match(byAddress.error ?? '', /private address/);
    assert.equal(receiver.requests.length, 0, 'nothing reached the receiver');
    const allowed = await lenient.post(new URL(`http://localhost:${port}/hook`), { 'x-test': '1' }, '{"a":1}');
    assert.equal(allowed.statusCode, 200);
    assert.equal(receiver.requests[0]?.body, '{"a":1}');
  } finally {
    strict.close();
    lenient.close();
    await receiver.close();
  }
});
