import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { newWebhookSecret } from '../../src/domain/webhooks.ts';
import { signatureHeaders } from '../../src/webhooks/signatures.ts';

// Verified with independent code: the published Standard Webhooks library, and seed 004's own receiver snippet.

// Seed 004's snippet, as its documentation gives it (it re-serialises the parsed body).
function validateWebhook(payload: unknown, signature: string, secret: string) {
  const hash = createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex');
  return hash === signature;
}

const body = JSON.stringify({ id: 'evt', event: 'message', data: { message: 'Olá — 👋 "quoted"', n: 1.5, list: [1, null] } });
const now = () => Math.floor(Date.now() / 1000);

test('Standard Webhooks: the library verifies; a tampered body or a stale timestamp fails', () => {
  const secret = newWebhookSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9+/=]{32}$/);
  const headers = signatureHeaders(body, [secret], 'msg_1', now());
  assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
  assert.throws(() => new Webhook(secret).verify(body.replace('Olá', 'Ola'), headers), /signature/i);
  const stale = signatureHeaders(body, [secret], 'msg_1', now() - 600);
  assert.throws(() => new Webhook(secret).verify(body, stale), /timestamp/i);
  assert.throws(() => new Webhook(newWebhookSecret()).verify(body, headers), /signature/i, 'another secret');
});

test('during a rotation both secrets verify', () => {
  const [current, previous] = [newWebhookSecret(), newWebhookSecret()];
  const headers = signatureHeaders(body, [current, previous], 'msg_2', now());
  assert.equal(headers['webhook-signature'].split(' ').length, 2);
  new Webhook(current).verify(body, headers);
  new Webhook(previous).verify(body, headers);
});

test('a secret not in whsec_ form signs with its own bytes (the library’s raw format)', () => {
  const secret = 'your-webhook-secret-from-seed-004';
  const headers = signatureHeaders(body, [secret], 'msg_3', now());
  new Webhook(Buffer.from(secret), { format: 'raw' }).verify(body, headers);
});

test('seed 004: its snippet validates X-Webhook-Signature over the parsed body; tampering fails; X-Hub-Signature-256 carries the same', () => {
  const secret = 'your-webhook-secret';
  const headers = signatureHeaders(body, [secret], 'msg_4', now());
  assert.ok(validateWebhook(JSON.parse(body), headers['x-webhook-signature'], secret));
  assert.ok(!validateWebhook({ ...JSON.parse(body), event: 'qr' }, headers['x-webhook-signature'], secret));
  assert.ok(!validateWebhook(JSON.parse(body), headers['x-webhook-signature'], 'another-secret'));
  assert.equal(headers['x-hub-signature-256'], `sha256=${headers['x-webhook-signature']}`);
});
