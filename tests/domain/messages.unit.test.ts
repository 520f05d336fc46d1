import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentTypeOf, messageIdFor, renderTemplate, waMessageIdOf } from '../../src/domain/messages.ts';

test('templates fill {variables} per recipient; a missing one is reported, not left blank', () => {
  assert.deepEqual(renderTemplate('Hi {name}, your order {order_id} ships {day}.', { name: 'Ana', order_id: 42, day: 'today' }), { text: 'Hi Ana, your order 42 ships today.' });
  assert.deepEqual(renderTemplate('Hi {name}', {}), { missing: 'name' });
  assert.deepEqual(renderTemplate('No placeholders {} { x }'), { text: 'No placeholders {} { x }' });
});

test('ids: an idempotency key names one message per user; WhatsApp ids are derived in WhatsApp Web\'s format', () => {
  assert.equal(messageIdFor(1, 'order-42'), messageIdFor(1, 'order-42'));
  assert.notEqual(messageIdFor(1, 'order-42'), messageIdFor(2, 'order-42'));
  assert.match(messageIdFor(1, 'k'), /^msg_[A-Za-z0-9_-]{22}$/);
  assert.match(waMessageIdOf('msg_x'), /^3EB0[0-9A-F]{18}$/);
  assert.equal(waMessageIdOf('msg_x'), waMessageIdOf('msg_x'));
});

test("a received message's WhatsApp content type is named as our API names content; unknown kinds keep theirs", () => {
  assert.equal(contentTypeOf('conversation'), 'text');
  assert.equal(contentTypeOf('extendedTextMessage'), 'text');
  assert.equal(contentTypeOf('imageMessage'), 'image');
  assert.equal(contentTypeOf('documentWithCaptionMessage'), 'document');
  assert.equal(contentTypeOf('pollCreationMessageV3'), 'poll');
  assert.equal(contentTypeOf('eventMessage'), 'eventMessage');
});
