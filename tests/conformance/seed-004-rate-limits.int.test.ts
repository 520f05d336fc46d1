import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { SEED_API_TOKEN } from './seed-platform.ts';

// Seed 004's "Rate Limiting" snippet against a platform with a small standard budget (3 requests per 2 s), so its
// 429 branch runs: it reads X-RateLimit-Limit/-Remaining/-Reset, waits until the reset (Unix seconds) and retries.
let platform: TestPlatform;
let base: string;
before(async () => {
  platform = await startTestPlatform({ API_TOKEN: SEED_API_TOKEN, RATE_LIMIT_STANDARD: '3/2s' });
  base = await platform.app.listen({ port: 0, host: '127.0.0.1' });
});
after(() => platform.close());

test('seed 004 › Rate Limiting › Handling Rate Limits', { timeout: 30_000 }, async () => {
  const log: string[] = [];
  let waited = 0;
  async function makeAPIRequest(url: string, options: RequestInit): Promise<any> {
    const response = await fetch(url, options);

    // Check rate limit headers
    const limit = response.headers.get('X-RateLimit-Limit');
    const remaining = response.headers.get('X-RateLimit-Remaining');
    const reset = response.headers.get('X-RateLimit-Reset');

    log.push(`Rate limit: ${remaining}/${limit} requests remaining`);

    if (response.status === 429) {
      const resetTime = new Date(parseInt(reset!) * 1000);
      const waitTime = resetTime.getTime() - Date.now();

      log.push(`Rate limit exceeded. Waiting ${waitTime}ms...`);
      waited = waitTime;
      await new Promise((resolve) => setTimeout(resolve, waitTime));

      // Retry request
      return makeAPIRequest(url, options);
    }

    return response.json();
  }

  const options = { headers: { 'X-API-Token': SEED_API_TOKEN } };
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await makeAPIRequest(`${base}/api/whatsapp/server/stats`, options));
  assert.ok(answers.every((a) => a.success === true), JSON.stringify(answers));
  assert.deepEqual(log.slice(0, 4), ['Rate limit: 2/3 requests remaining', 'Rate limit: 1/3 requests remaining', 'Rate limit: 0/3 requests remaining', 'Rate limit: 0/3 requests remaining']);
  assert.match(log[4]!, /^Rate limit exceeded\. Waiting \d+ms\.\.\.$/);
  assert.ok(waited > 0 && waited <= 3000, `waits until the window resets (${waited} ms), never a negative or a day`);
  assert.equal(log[5], 'Rate limit: 2/3 requests remaining', 'the retry after the reset is allowed');
});
