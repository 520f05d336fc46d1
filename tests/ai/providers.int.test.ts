import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { complete, ProviderError, type Completion, type CompletionRequest } from '../../src/ai/providers.ts';
import { startFakeLlm } from '../helpers/fake-llm.ts';

// The provider clients against a local server speaking both wire formats, through the real SDKs: streamed text,
// the provider's own usage, and every failure as a ProviderError that says whether to try again and when.
const llm = await startFakeLlm({ reply: (call) => ({ text: `one two three, for ${call.messages.at(-1)?.text}`, inputTokens: 11, outputTokens: 7 }) });
const keyless = await startFakeLlm({ apiKey: null });
const usageless = await startFakeLlm({ apiKey: null, ignoreStreamOptions: true });
after(() => Promise.all([llm.close(), keyless.close(), usageless.close()]));

const turns = [
  { role: 'user' as const, content: 'earlier' },
  { role: 'assistant' as const, content: 'noted' },
  { role: 'user' as const, content: 'now' },
];
const base = { model: 'some-model', system: 'Be brief.', turns, timeoutMs: 5000 };
const kinds: ['openai' | 'anthropic', () => CompletionRequest][] = [
  ['openai', () => ({ ...base, kind: 'openai', endpoint: llm.openaiBaseUrl, apiKey: llm.apiKey! })],
  ['anthropic', () => ({ ...base, kind: 'anthropic', endpoint: llm.anthropicBaseUrl, apiKey: llm.apiKey! })],
];

async function failure(request: CompletionRequest): Promise<ProviderError> {
  const err = await complete(request).then(
    (answer) => assert.fail(`expected a ProviderError, got ${JSON.stringify(answer)}`),
    (err: unknown) => err,
  );
  assert.ok(err instanceof ProviderError, String(err));
  assert.equal(err.code, 'AI_PROVIDER_ERROR');
  return err;
}

// The requests a block of calls made, to count them.
async function requestsOf(server: { requests: unknown[] }, calls: () => Promise<unknown>) {
  const before = server.requests.length;
  await calls();
  return server.requests.slice(before) as typeof llm.requests;
}

for (const [kind, request] of kinds) {
  test(`${kind}: streamed text and deltas, the prompt and settings as sent, the provider's usage`, async () => {
    const deltas: string[] = [];
    let answer: Completion | undefined;
    const sent = await requestsOf(llm, async () => {
      answer = await complete({ ...request(), temperature: 0.3, maxTokens: 99, onText: (delta) => deltas.push(delta) });
    });
    assert.ok(answer);
    assert.equal(answer.text, 'one two three, for now');
    assert.ok(deltas.length > 1, 'the reply arrived in pieces');
    assert.equal(deltas.join(''), answer.text);
    assert.deepEqual([answer.inputTokens, answer.outputTokens, answer.usageReported, answer.model], [11, 7, true, 'some-model']);
    assert.ok(answer.durationMs >= 0);
    assert.equal(sent.length, 1, 'one HTTP request');
    const body = sent[0]!.body as Record<string, unknown>;
    assert.deepEqual([body.model, body.stream, body.temperature, body.max_tokens], ['some-model', true, 0.3, 99]);
    if (kind === 'openai') {
      assert.equal(sent[0]!.path, '/v1/chat/completions');
      assert.deepEqual(body.messages, [{ role: 'system', content: 'Be brief.' }, ...turns]);
      assert.deepEqual(body.stream_options, { include_usage: true });
    } else {
      assert.equal(sent[0]!.path, '/v1/messages');
      assert.equal(body.system, 'Be brief.');
      assert.deepEqual(body.messages, turns);
    }
  });

  test(`${kind}: what is left out is not sent (Anthropic's max_tokens defaults to 1024)`, async () => {
    const [sent] = await requestsOf(llm, () => complete({ ...request(), system: undefined }));
    const body = sent!.body as Record<string, unknown>;
    assert.equal(body.temperature, undefined);
    assert.equal(body.max_tokens, kind === 'anthropic' ? 1024 : undefined);
    if (kind === 'openai') assert.deepEqual(body.messages, turns);
    else assert.equal(body.system, undefined);
  });

  test(`${kind}: 429 with Retry-After and 500 are retryable; 401 and 404 are not; nothing is retried inside`, async () => {
    const sent = await requestsOf(llm, async () => {
      llm.script({ status: 429, retryAfter: 3 }, { status: 500 });
      const limited = await failure(request());
      assert.deepEqual([limited.retryable, limited.status, limited.retryAfterMs], [true, 429, 3000]);
      assert.match(limited.message, /429: Rate limit reached/);
      const failed = await failure(request());
      assert.deepEqual([failed.retryable, failed.status, failed.retryAfterMs], [true, 500, undefined]);
      const refused = await failure({ ...request(), apiKey: 'sk-wrong-key-123' });
      assert.deepEqual([refused.retryable, refused.status], [false, 401]);
      assert.ok(!refused.message.includes('sk-wrong-key-123'), 'the key stays out of messages');
      assert.doesNotMatch(refused.message, /[{}]/, `the provider's words, not its JSON: ${refused.message}`);
      const lost = await failure({ ...request(), endpoint: `${llm.url}/nowhere` });
      assert.deepEqual([lost.retryable, lost.status], [false, 404]);
    });
    assert.equal(sent.length, 4, 'the SDK retried nothing');
  });

  test(`${kind}: a malformed chunk mid-stream is a retryable failure`, async () => {
    llm.script({ malformed: true });
    const deltas: string[] = [];
    const sent = await requestsOf(llm, async () => {
      const broken = await failure({ ...request(), onText: (delta) => deltas.push(delta) });
      assert.ok(broken.retryable);
      assert.equal(broken.status, undefined);
      assert.match(broken.message, new RegExp(`the ${kind} provider could not be reached or read`));
    });
    assert.equal(sent.length, 1);
    assert.equal(deltas.join(''), 'one ', 'what came before the broken chunk');
  });

  test(`${kind}: a provider that never answers fails retryably at timeoutMs`, async () => {
    llm.script({ hang: true });
    const started = Date.now();
    const sent = await requestsOf(llm, async () => {
      const hung = await failure({ ...request(), timeoutMs: 500 });
      assert.ok(hung.retryable);
      assert.match(hung.message, /did not answer within 500 ms/);
    });
    const took = Date.now() - started;
    assert.ok(took >= 450 && took < 1200, `gave up after ${took} ms`);
    assert.equal(sent.length, 1, 'no retry after the timeout');
  });

  test(`${kind}: a stream that stalls midway fails at timeoutMs rather than passing a cut-off reply`, async () => {
    llm.script({ stall: true });
    const deltas: string[] = [];
    const started = Date.now();
    const stalled = await failure({ ...request(), timeoutMs: 500, onText: (delta) => deltas.push(delta) });
    const took = Date.now() - started;
    assert.ok(stalled.retryable);
    assert.ok(took >= 450 && took < 1200, `gave up after ${took} ms`);
    assert.deepEqual(deltas, ['one ']);
  });

  test(`${kind}: an empty reply is a retryable failure`, async () => {
    llm.script({ reply: { text: '' } });
    const empty = await failure(request());
    assert.ok(empty.retryable);
    assert.match(empty.message, /empty reply/);
  });

  test(`${kind}: the caller's signal cancels the call`, async () => {
    llm.script({ hang: true });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const cancelled = await failure({ ...request(), signal: controller.signal });
    assert.ok(Date.now() - started < 1000);
    assert.match(cancelled.message, /cancelled/);
  });

  test(`${kind}: without an API key nothing is sent`, async () => {
    const sent = await requestsOf(llm, async () => {
      const { apiKey: _apiKey, ...keyLess } = request();
      const refused = await failure(keyLess);
      assert.equal(refused.retryable, false);
    });
    assert.equal(sent.length, 0);
  });
}

test('openai-compatible without a key (Ollama style): the reply and its usage', async () => {
  const deltas: string[] = [];
  const [sent] = await requestsOf(keyless, async () => {
    const answer = await complete({ ...base, kind: 'openai-compatible', endpoint: keyless.openaiBaseUrl, onText: (delta) => deltas.push(delta) });
    assert.equal(answer.text, 'echo: now');
    assert.equal(deltas.join(''), 'echo: now');
    // The fake server counts words: "Be brief." and the three turns, then the reply.
    assert.deepEqual([answer.inputTokens, answer.outputTokens, answer.usageReported], [5, 2, true]);
  });
  assert.equal(sent?.path, '/v1/chat/completions');
  assert.deepEqual((sent?.body as Record<string, unknown>).messages, [{ role: 'system', content: 'Be brief.' }, ...turns]);
});

test('openai-compatible that reports no usage while streaming: zero tokens, usageReported false', async () => {
  const answer = await complete({ ...base, kind: 'openai-compatible', endpoint: usageless.openaiBaseUrl });
  assert.equal(answer.text, 'echo: now');
  assert.deepEqual([answer.inputTokens, answer.outputTokens, answer.usageReported], [0, 0, false]);
});

test('openai-compatible: no endpoint is refused; one where nothing listens is retryable', async () => {
  const unset = await failure({ ...base, kind: 'openai-compatible' });
  assert.equal(unset.retryable, false);
  const gone = await startFakeLlm({ apiKey: null });
  await gone.close();
  const refused = await failure({ ...base, kind: 'openai-compatible', endpoint: gone.openaiBaseUrl });
  assert.deepEqual([refused.retryable, refused.status], [true, undefined]);
  assert.match(refused.message, /ECONNREFUSED/, 'says what went wrong');
});

test('Retry-After as an HTTP date, and retry-after-ms, both become retryAfterMs', async () => {
  const headers: Record<string, string>[] = [{ 'retry-after': new Date(Date.now() + 30_000).toUTCString() }, { 'retry-after-ms': '1500', 'retry-after': '2' }];
  const server = createServer((_req, res) => {
    res.writeHead(429, { 'content-type': 'application/json', ...headers.shift() }).end('{"error":{"message":"slow down","type":"requests"}}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const dated = await failure({ ...base, kind: 'openai-compatible', endpoint });
    assert.ok(dated.retryable);
    assert.ok(dated.retryAfterMs! > 25_000 && dated.retryAfterMs! <= 30_000, `retryAfterMs ${dated.retryAfterMs}`);
    const precise = await failure({ ...base, kind: 'openai-compatible', endpoint });
    assert.equal(precise.retryAfterMs, 1500);
    assert.match(precise.message, /429: slow down/);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
