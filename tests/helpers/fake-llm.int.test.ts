import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startFakeLlm, type FakeLlm, type LlmCall } from './fake-llm.ts';

// The fake LLM server driven by the real SDKs: if it drifts from the wire formats, their parsers, retries and
// error classes say so here rather than in the platform's AI tests.

let llm: FakeLlm;
beforeEach(async () => {
  llm = await startFakeLlm();
});
afterEach(() => llm.close());

type OpenAiOptions = NonNullable<ConstructorParameters<typeof OpenAI>[0]>;
type AnthropicOptions = NonNullable<ConstructorParameters<typeof Anthropic>[0]>;
const openai = (options: OpenAiOptions = {}) => new OpenAI({ apiKey: llm.apiKey!, baseURL: llm.openaiBaseUrl, maxRetries: 0, ...options });
const anthropic = (options: AnthropicOptions = {}) => new Anthropic({ apiKey: llm.apiKey!, baseURL: llm.anthropicBaseUrl, maxRetries: 0, ...options });

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'system' as const, content: 'You are terse.' }, { role: 'user' as const, content: 'tell me a story' }] };
const message = { model: 'claude-haiku-4-5', max_tokens: 256, system: 'Be kind.', messages: [{ role: 'user' as const, content: 'hello from whatsapp' }] };

test('OpenAI chat completion: the echo, word-count usage, and the request as recorded', async () => {
  const completion = await openai().chat.completions.create(chat);
  assert.equal(completion.choices[0]?.message.content, 'echo: tell me a story');
  assert.equal(completion.choices[0]?.finish_reason, 'stop');
  assert.deepEqual(completion.usage, { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 });
  const [recorded] = llm.requests;
  assert.equal(llm.requests.length, 1);
  assert.equal(recorded?.api, 'openai');
  assert.equal(recorded?.path, '/v1/chat/completions');
  assert.equal(recorded?.headers.authorization, `Bearer ${llm.apiKey}`);
  assert.deepEqual(recorded?.body, chat);
  assert.equal(recorded?.answer.status, 200);
  assert.equal(recorded?.answer.reply?.text, 'echo: tell me a story');
});

test('OpenAI streaming: deltas join into the reply and the last chunk carries the usage', async () => {
  const stream = await openai().chat.completions.create({ ...chat, stream: true, stream_options: { include_usage: true } });
  const deltas: string[] = [];
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    if (chunk.choices[0]?.delta.content) deltas.push(chunk.choices[0].delta.content);
  }
  assert.ok(deltas.length > 1, 'the reply arrives in pieces');
  assert.equal(deltas.join(''), 'echo: tell me a story');
  assert.deepEqual(chunks.at(-1)?.usage, { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 });
  assert.deepEqual(chunks.at(-1)?.choices, []);
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === null));
});

test('Anthropic message: text content, usage, stop reason, and the headers the API checks', async () => {
  const reply = await anthropic().messages.create(message);
  assert.deepEqual(reply.content, [{ type: 'text', text: 'echo: hello from whatsapp' }]);
  assert.deepEqual(reply.usage, { input_tokens: 5, output_tokens: 4 });
  assert.equal(reply.stop_reason, 'end_turn');
  const [recorded] = llm.requests;
  assert.equal(recorded?.api, 'anthropic');
  assert.ok(recorded?.headers['x-api-key'] === llm.apiKey || recorded?.headers.authorization === `Bearer ${llm.apiKey}`, 'the key, in either header the API takes');
  assert.equal(typeof recorded?.headers['anthropic-version'], 'string');
});

test('Anthropic streaming: the real event sequence, text deltas, and finalMessage() with usage', async () => {
  const stream = anthropic().messages.stream(message);
  const events: string[] = [];
  const deltas: string[] = [];
  stream.on('streamEvent', (event) => events.push(event.type));
  stream.on('text', (delta) => deltas.push(delta));
  const final = await stream.finalMessage();
  assert.deepEqual(final.content, [{ type: 'text', text: 'echo: hello from whatsapp' }]);
  assert.deepEqual(final.usage, { input_tokens: 5, output_tokens: 4 });
  assert.equal(final.stop_reason, 'end_turn');
  assert.equal(deltas.join(''), 'echo: hello from whatsapp');
  assert.deepEqual(events, ['message_start', 'content_block_start', ...deltas.map(() => 'content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
});

test("a 429 with Retry-After: each SDK's own retry waits for it and then succeeds", async () => {
  llm.script({ status: 429, retryAfter: 1 });
  const completion = await openai({ maxRetries: 1 }).chat.completions.create(chat);
  assert.equal(completion.choices[0]?.message.content, 'echo: tell me a story');
  llm.script({ status: 429, retryAfter: 1 });
  const reply = await anthropic({ maxRetries: 1 }).messages.create(message);
  assert.equal(reply.usage.output_tokens, 4);
  assert.deepEqual(llm.requests.map((r) => [r.api, r.answer.status]), [['openai', 429], ['openai', 200], ['anthropic', 429], ['anthropic', 200]]);
  for (const i of [1, 3]) {
    const waited = llm.requests[i]!.receivedAt.getTime() - llm.requests[i - 1]!.receivedAt.getTime();
    assert.ok(waited >= 950, `retried after ${waited} ms`);
  }
});

test('a 500 with maxRetries 0 rejects with the APIError of each SDK', async () => {
  llm.script({ status: 500 }, { status: 500 });
  await assert.rejects(openai().chat.completions.create(chat), (err) => err instanceof OpenAI.InternalServerError && err.status === 500 && err.type === 'server_error');
  await assert.rejects(anthropic().messages.create(message), (err) => err instanceof Anthropic.InternalServerError && err.status === 500);
  assert.equal(llm.requests.length, 2);
});

test('a wrong key is refused with 401 in each API’s error shape, and costs no scripted behaviour', async () => {
  llm.script({ reply: { text: 'for the right key' } });
  await assert.rejects(openai({ apiKey: 'sk-wrong' }).chat.completions.create(chat), (err) => err instanceof OpenAI.AuthenticationError && err.status === 401 && err.code === 'invalid_api_key');
  await assert.rejects(anthropic({ apiKey: 'sk-ant-wrong' }).messages.create(message), (err) => err instanceof Anthropic.AuthenticationError && /invalid x-api-key/.test(err.message));
  const completion = await openai().chat.completions.create(chat);
  assert.equal(completion.choices[0]?.message.content, 'for the right key');
});

test('a malformed chunk mid-stream: the OpenAI iterator throws a SyntaxError, the Anthropic stream rejects; so does a truncated body', async () => {
  llm.script({ malformed: true }, { malformed: true });
  const stream = await openai({ logLevel: 'off' }).chat.completions.create({ ...chat, stream: true });
  const deltas: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const chunk of stream) deltas.push(chunk.choices[0]?.delta.content ?? '');
    })(),
    SyntaxError,
  );
  assert.equal(deltas.join(''), 'echo: ', 'the text before the broken chunk got through');
  const messageStream = anthropic().messages.stream(message);
  const errors: Error[] = [];
  messageStream.on('error', (err) => errors.push(err));
  await assert.rejects(messageStream.finalMessage(), (err) => err instanceof Anthropic.AnthropicError && (err as { cause?: unknown }).cause instanceof SyntaxError);
  assert.equal(errors.length, 1);
  llm.script({ malformed: true }, { malformed: true });
  await assert.rejects(openai().chat.completions.create(chat), SyntaxError);
  await assert.rejects(anthropic().messages.create(message), SyntaxError);
});

test('a slow answer arrives after its delay; a hung one ends in the SDK timeout, and close() does not wait for it', async () => {
  llm.script({ delayMs: 300 }, { hang: true });
  const started = Date.now();
  await openai().chat.completions.create(chat);
  assert.ok(Date.now() - started >= 300);
  await assert.rejects(openai({ timeout: 200 }).chat.completions.create(chat), OpenAI.APIConnectionTimeoutError);
  assert.equal(llm.requests[1]?.answer.status, null);
  llm.script({ hang: true });
  const hung = fetch(`${llm.openaiBaseUrl}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${llm.apiKey}` }, body: JSON.stringify(chat) });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const closing = Date.now();
  await llm.close();
  assert.ok(Date.now() - closing < 1000);
  await assert.rejects(hung, TypeError);
});

test('the reply function sees both APIs as one call shape; a throwing one is a 500 with its message', async () => {
  const calls: LlmCall[] = [];
  const custom = await startFakeLlm({
    reply(call) {
      calls.push(call);
      if (call.messages.at(-1)?.text === 'fail') throw new Error('no reply for you');
      return { text: 'Halo!', inputTokens: 11, outputTokens: 2 };
    },
  });
  try {
    const completion = await openai({ baseURL: custom.openaiBaseUrl }).chat.completions.create(chat);
    assert.deepEqual(completion.usage, { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 });
    await anthropic({ baseURL: custom.anthropicBaseUrl }).messages.create({ ...message, system: [{ type: 'text', text: 'You are terse.' }], messages: [{ role: 'user', content: [{ type: 'text', text: 'tell me a story' }] }] });
    const [fromOpenai, fromAnthropic] = calls.map(({ body: _body, api: _api, model: _model, ...rest }) => rest);
    assert.deepEqual(fromOpenai, { system: 'You are terse.', messages: [{ role: 'user', text: 'tell me a story' }], stream: false });
    assert.deepEqual(fromAnthropic, fromOpenai);
    await assert.rejects(
      anthropic({ baseURL: custom.anthropicBaseUrl }).messages.create({ ...message, messages: [{ role: 'user', content: 'fail' }] }),
      (err) => err instanceof Anthropic.InternalServerError && /no reply for you/.test(err.message),
    );
  } finally {
    await custom.close();
  }
});

test('an OpenAI-compatible local server (Ollama style: any key, baseURL ending in /v1/, no usage unless asked)', async () => {
  const local = await startFakeLlm({ apiKey: null, models: ['llama3.2'] });
  try {
    const client = new OpenAI({ baseURL: `${local.url}/v1/`, apiKey: 'ollama', maxRetries: 0 });
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.deepEqual(ids, ['llama3.2']);
    const stream = await client.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'apa kabar' }], stream: true });
    let text = '';
    for await (const chunk of stream) {
      assert.equal('usage' in chunk, false);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    assert.equal(text, 'echo: apa kabar');
    assert.deepEqual(local.requests.map((r) => `${r.method} ${r.path} ${r.answer.status}`), ['GET /v1/models 200', 'POST /v1/chat/completions 200']);
  } finally {
    await local.close();
  }
});
