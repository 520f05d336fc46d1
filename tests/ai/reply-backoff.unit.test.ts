import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aiReplyBackoff } from '../../src/ai/reply-job.ts';
import { ProviderError } from '../../src/ai/providers.ts';

test('the reply job waits what the provider asked, in whole milliseconds and at most 10 min; else doubling from 2 s', () => {
  const asked = (retryAfterMs: number) => new ProviderError('busy', { retryable: true, status: 429, retryAfterMs });
  assert.equal(aiReplyBackoff(1, 'ai-provider', asked(1500.4)), 1501, 'BullMQ on PostgreSQL stores due times as bigint');
  assert.equal(aiReplyBackoff(1, 'ai-provider', asked(0)), 0);
  assert.equal(aiReplyBackoff(1, 'ai-provider', asked(3_600_000)), 600_000);
  assert.deepEqual([1, 2, 3, 9].map((n) => aiReplyBackoff(n, 'ai-provider', new ProviderError('down', { retryable: true, status: 500 }))), [2000, 4000, 8000, 300_000]);
  assert.equal(aiReplyBackoff(2, 'ai-provider', new Error('a bug')), 4000);
});
