import assert from 'node:assert/strict';
import { test } from 'node:test';
import { advance, reachedBy, statusOf } from '../../src/domain/message-status.ts';

test('a status moves forward through the lifecycle', () => {
  assert.equal(advance(undefined, 'queued'), 'queued');
  assert.equal(advance('queued', 'sent'), 'sent');
  assert.equal(advance('sent', 'delivered'), 'delivered');
  assert.equal(advance('delivered', 'read'), 'read');
  assert.equal(advance('read', 'played'), 'played');
});

test('receipts may skip a step (a merged upsert reports delivered before sent)', () => {
  assert.equal(advance('queued', 'delivered'), 'delivered');
});

test('never backwards: a late delivered after read, or a repeated receipt, changes nothing', () => {
  assert.equal(advance('read', 'delivered'), undefined);
  assert.equal(advance('delivered', 'delivered'), undefined);
  assert.equal(advance('played', 'sent'), undefined);
});

test('a failure counts before WhatsApp has the message; a resend or late ack moves on from it', () => {
  assert.equal(advance('queued', 'failed'), 'failed');
  assert.equal(advance('sent', 'failed'), undefined);
  assert.equal(advance('failed', 'queued'), 'queued');
  assert.equal(advance('failed', 'sent'), 'sent');
});

test('received messages are inbound and have no outgoing lifecycle', () => {
  assert.equal(advance(undefined, 'received'), 'received');
  assert.equal(advance('received', 'read'), undefined);
  assert.equal(statusOf('message.received'), 'received');
  assert.equal(statusOf('device.connected'), undefined);
});

test('stats count every step a message passed, skipped ones included, once', () => {
  assert.deepEqual(reachedBy(undefined, 'queued'), ['queued']);
  assert.deepEqual(reachedBy('queued', 'sent'), ['sent']);
  assert.deepEqual(reachedBy('queued', 'delivered'), ['sent', 'delivered']);
  assert.deepEqual(reachedBy('sent', 'read'), ['delivered', 'read']);
  assert.deepEqual(reachedBy('failed', 'delivered'), ['sent', 'delivered'], 'a late ack after a failure');
  assert.deepEqual(reachedBy('queued', 'failed'), ['failed']);
  assert.deepEqual(reachedBy(undefined, 'received'), ['received']);
});
