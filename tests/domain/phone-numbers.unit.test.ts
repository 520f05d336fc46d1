import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizePhoneNumber } from '../../src/domain/phone-numbers.ts';

test('phone numbers normalize to E.164 digits without the plus', () => {
  assert.equal(normalizePhoneNumber('+62 812-3456-7890'), '6281234567890');
  assert.equal(normalizePhoneNumber('6281234567890'), '6281234567890');
  assert.equal(normalizePhoneNumber(' +1 (415) 555.0100 '), '14155550100');
});

test('what cannot be an international number is refused', () => {
  for (const bad of ['', '+', '0812345678', '12345', '1234567890123456', '62812abc4567', '62812345678@s.whatsapp.net', '++6281234567']) {
    assert.equal(normalizePhoneNumber(bad), undefined, bad);
  }
});
