import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRecipient } from '../../src/domain/recipients.ts';

test('people by number (as written), by JID or by LID; groups by JID', () => {
  assert.deepEqual(parseRecipient('+62 812-3456-7890'), { jid: '6281234567890@s.whatsapp.net', kind: 'person' });
  assert.deepEqual(parseRecipient('6281234567890@s.whatsapp.net'), { jid: '6281234567890@s.whatsapp.net', kind: 'person' });
  assert.deepEqual(parseRecipient('6281234567890:3@s.whatsapp.net'), { jid: '6281234567890@s.whatsapp.net', kind: 'person' }, 'a device JID means its account');
  assert.deepEqual(parseRecipient('6281234567890@c.us'), { jid: '6281234567890@s.whatsapp.net', kind: 'person' });
  assert.deepEqual(parseRecipient('123456789012345@lid'), { jid: '123456789012345@lid', kind: 'person' });
  assert.deepEqual(parseRecipient('120363025246125486@g.us'), { jid: '120363025246125486@g.us', kind: 'group' });
  assert.deepEqual(parseRecipient('6281234567890-1600000000@g.us'), { jid: '6281234567890-1600000000@g.us', kind: 'group' });
});

test('anything else is refused', () => {
  for (const bad of ['', 'hello', '0812345678', 'abc@g.us', '6281234567890@example.com', '123@s.whatsapp.net', 'status@broadcast']) {
    assert.equal(parseRecipient(bad), undefined, bad);
  }
});
