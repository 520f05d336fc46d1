import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

// One loopback HTTP server speaking the OpenAI Chat Completions and Anthropic Messages wire formats, so the real
// `openai` and `@anthropic-ai/sdk` clients (their retries, SSE parsing and error classes included) run against it.

export type LlmApi = 'openai' | 'anthropic';

// A request reduced to what both APIs share; `body` is the request as sent.
export interface LlmCall {
  api: LlmApi;
  model: string;
  system: string | undefined;
  messages: { role: string; text: string }[];
  stream: boolean;
  body: Record<string, unknown>;
}

// Token counts left out are counted as words (of system and messages, and of the reply).
export interface LlmReply {
  text: string;
  inputTokens?: number;
  outputTokens?: number;
}

export type ReplyFunction = (call: LlmCall) => LlmReply | Promise<LlmReply>;

// One-shot behaviours, taken in order by the next completion requests that pass authentication and validation.
export type Behaviour =
  | { status: 429; retryAfter: number }
  | { status: 500 }
  | { delayMs: number } // then answers as usual
  | { malformed: true } // a broken JSON chunk after the first text delta (or a truncated JSON body)
  | { stall: true } // the first text delta, then silence until close() (a non-streaming request hangs)
  | { hang: true } // never answers; the socket is destroyed by close()
  | { reply: LlmReply };

export interface RecordedAnswer {
  status: number | null; // null until the answer starts, and for good after a hang
  behaviour?: Behaviour;
  reply?: Required<LlmReply>; // after a malformed behaviour, only its start was sent
  error?: { type: string; message: string };
}

export interface RecordedRequest {
  api: LlmApi;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown; // parsed JSON; the raw text when it is not JSON; undefined when empty
  receivedAt: Date;
  answer: RecordedAnswer;
}

export interface FakeLlmOptions {
  // The key both APIs accept; null accepts any key or none, as Ollama and other local servers do.
  apiKey?: string | null;
  reply?: ReplyFunction;
  // What GET /v1/models lists.
  models?: string[];
  // Streams without usage whatever stream_options asks, as some OpenAI-compatible servers do.
  ignoreStreamOptions?: boolean;
}

export interface FakeLlm {
  url: string;
  openaiBaseUrl: string; // the OpenAI SDK's baseURL includes /v1
  anthropicBaseUrl: string; // the Anthropic SDK appends /v1 itself
  apiKey: string | null;
  requests: RecordedRequest[];
  script(...behaviours: Behaviour[]): void;
  close(): Promise<void>;
}

export const FAKE_LLM_KEY = 'fake-llm-key';

const words = (text: string) => text.match(/\S+/g)?.length ?? 0;

export const echoLastUserMessage: ReplyFunction = (call) => {
  const last = call.messages.findLast((m) => m.role === 'user');
  return { text: `echo: ${last?.text ?? ''}` };
};

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

// Both APIs take a string or an array of parts, of which only text parts carry text.
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.flatMap((part) => (isRecord(part) && part.type === 'text' && typeof part.text === 'string' ? [part.text] : [])).join('\n');
}

// Splits before each word that follows whitespace, so the pieces join back into the text exactly.
const deltas = (text: string) => text.split(/(?<=\s)(?=\S)/).filter((piece) => piece !== '');

function sseHead(res: ServerResponse, record: RecordedRequest) {
  record.answer.status = 200;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
}

function sendJson(res: ServerResponse, record: RecordedRequest, status: number, body: unknown, headers: Record<string, string> = {}) {
  record.answer.status = status;
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

// How a stream stops short after its first text delta.
type BreakOff = 'malformed' | 'stall' | undefined;

interface Dialect {
  api: LlmApi;
  authorized(headers: IncomingHttpHeaders, key: string): boolean;
  errorBody(status: number, message: string): { type: string; body: unknown };
  // A message saying what is wrong, or the call.
  parse(body: Record<string, unknown>): string | LlmCall;
  answer(res: ServerResponse, record: RecordedRequest, call: LlmCall, reply: Required<LlmReply>, id: string): void;
  stream(res: ServerResponse, record: RecordedRequest, call: LlmCall, reply: Required<LlmReply>, id: string, breakOff: BreakOff): void;
}

const openaiErrors: Record<number, { type: string; code: string | null }> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  404: { type: 'invalid_request_error', code: null },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
  500: { type: 'server_error', code: null },
};

const openai: Dialect = {
  api: 'openai',
  authorized: (headers, key) => headers.authorization === `Bearer ${key}`,
  errorBody(status, message) {
    const { type, code } = openaiErrors[status] ?? { type: 'server_error', code: null };
    return { type, body: { error: { message, type, param: null, code } } };
  },
  parse(body) {
    if (typeof body.model !== 'string') return 'you must provide a model parameter';
    if (!Array.isArray(body.messages) || body.messages.length === 0) return "[] is too short - 'messages'";
    const turns = body.messages.map((m: unknown) => (isRecord(m) ? { role: String(m.role), text: textOf(m.content) } : { role: '', text: '' }));
    const instructions = turns.filter((t) => t.role === 'system' || t.role === 'developer');
    return {
      api: 'openai',
      model: body.model,
      system: instructions.length > 0 ? instructions.map((t) => t.text).join('\n') : undefined,
      messages: turns.filter((t) => !instructions.includes(t)),
      stream: body.stream === true,
      body,
    };
  },
  answer(res, record, call, reply, id) {
    sendJson(res, record, 200, {
      id,
      object: 'chat.completion',
      created: Math.floor(record.receivedAt.getTime() / 1000),
      model: call.model,
      choices: [{ index: 0, message: { role: 'assistant', content: reply.text, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: reply.inputTokens, completion_tokens: reply.outputTokens, total_tokens: reply.inputTokens + reply.outputTokens },
      system_fingerprint: null,
    });
  },
  stream(res, record, call, reply, id, breakOff) {
    const withUsage = isRecord(call.body.stream_options) && call.body.stream_options.include_usage === true;
    const head = { id, object: 'chat.completion.chunk', created: Math.floor(record.receivedAt.getTime() / 1000), model: call.model, system_fingerprint: null };
    const write = (choices: unknown[], usage: unknown = null) => res.write(`data: ${JSON.stringify({ ...head, choices, ...(withUsage ? { usage } : {}) })}\n\n`);
    const choice = (delta: unknown, finish: string | null = null) => ({ index: 0, delta, logprobs: null, finish_reason: finish });
    sseHead(res, record);
    write([choice({ role: 'assistant', content: '', refusal: null })]);
    for (const piece of deltas(reply.text)) {
      write([choice({ content: piece })]);
      if (breakOff === 'stall') return;
      if (breakOff === 'malformed') return void res.end(`data: {"id":"${id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":\n\n`);
    }
    write([choice({}, 'stop')]);
    if (withUsage) write([], { prompt_tokens: reply.inputTokens, completion_tokens: reply.outputTokens, total_tokens: reply.inputTokens + reply.outputTokens });
    res.end('data: [DONE]\n\n');
  },
};

const anthropicErrors: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'api_error',
};

const anthropic: Dialect = {
  api: 'anthropic',
  // The API takes the key as `x-api-key`; the SDK (1.x) sends it as a bearer token, which the API also accepts.
  authorized: (headers, key) => headers['x-api-key'] === key || headers.authorization === `Bearer ${key}`,
  errorBody(status, message) {
    const type = anthropicErrors[status] ?? 'api_error';
    return { type, body: { type: 'error', error: { type, message } } };
  },
  parse(body) {
    if (typeof body.model !== 'string') return 'model: Field required';
    if (typeof body.max_tokens !== 'number') return 'max_tokens: Field required';
    if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages: at least one message is required';
    return {
      api: 'anthropic',
      model: body.model,
      system: body.system === undefined ? undefined : textOf(body.system),
      messages: body.messages.map((m: unknown) => (isRecord(m) ? { role: String(m.role), text: textOf(m.content) } : { role: '', text: '' })),
      stream: body.stream === true,
      body,
    };
  },
  answer(res, record, call, reply, id) {
    sendJson(res, record, 200, {
      id,
      type: 'message',
      role: 'assistant',
      model: call.model,
      content: [{ type: 'text', text: reply.text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: reply.inputTokens, output_tokens: reply.outputTokens },
    });
  },
  stream(res, record, call, reply, id, breakOff) {
    const write = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...(data as object) })}\n\n`);
    sseHead(res, record);
    const message = { id, type: 'message', role: 'assistant', model: call.model, content: [], stop_reason: null, stop_sequence: null };
    write('message_start', { message: { ...message, usage: { input_tokens: reply.inputTokens, output_tokens: 1 } } });
    write('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    write('ping', {});
    for (const piece of deltas(reply.text)) {
      write('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } });
      if (breakOff === 'stall') return;
      if (breakOff === 'malformed') return void res.end('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":\n\n');
    }
    write('content_block_stop', { index: 0 });
    write('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: reply.outputTokens } });
    res.end(`event: message_stop\ndata: {"type":"message_stop"}\n\n`);
  },
};

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const apiKey = options.apiKey === undefined ? FAKE_LLM_KEY : options.apiKey;
  const replyTo = options.reply ?? echoLastUserMessage;
  const models = options.models ?? ['gpt-4o-mini'];
  const requests: RecordedRequest[] = [];
  const behaviours: Behaviour[] = [];
  const closing = new AbortController();
  let served = 0;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://fake-llm').pathname;
    const method = req.method ?? 'GET';
    // Unknown paths answer in the dialect of the client that seems to be asking.
    const dialect = path === '/v1/messages' || (path !== '/v1/chat/completions' && req.headers['x-api-key'] !== undefined) ? anthropic : openai;
    const record: RecordedRequest = { api: dialect.api, method, path, headers: req.headers, body: await readBody(req), receivedAt: new Date(), answer: { status: null } };
    requests.push(record);
    const fail = (status: number, message: string, headers: Record<string, string> = {}) => {
      const { type, body } = dialect.errorBody(status, message);
      record.answer.error = { type, message };
      sendJson(res, record, status, body, headers);
    };

    const route = `${method} ${path}`;
    if (route !== 'POST /v1/chat/completions' && route !== 'GET /v1/models' && route !== 'POST /v1/messages') return fail(404, `Invalid URL (${route})`);
    if (apiKey !== null && !dialect.authorized(req.headers, apiKey)) {
      return fail(401, dialect === openai ? 'Incorrect API key provided.' : 'invalid x-api-key');
    }
    if (dialect === anthropic && req.headers['anthropic-version'] === undefined) return fail(400, 'anthropic-version: header is required');
    if (route === 'GET /v1/models') {
      const created = Math.floor(record.receivedAt.getTime() / 1000);
      return sendJson(res, record, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created, owned_by: 'fake-llm' })) });
    }
    if (!isRecord(record.body)) return fail(400, 'We could not parse the JSON body of your request.');
    const call = dialect.parse(record.body);
    if (typeof call === 'string') return fail(400, call);

    const behaviour = behaviours.shift();
    record.answer.behaviour = behaviour;
    if (behaviour !== undefined) {
      if ('hang' in behaviour) return;
      if ('status' in behaviour && behaviour.status === 429) {
        return fail(429, 'Rate limit reached for requests.', { 'retry-after': String(behaviour.retryAfter) });
      }
      if ('status' in behaviour) return fail(500, 'The server had an error while processing your request.');
      if ('delayMs' in behaviour) await sleep(behaviour.delayMs, undefined, { signal: closing.signal });
    }
    let given: LlmReply;
    try {
      given = behaviour !== undefined && 'reply' in behaviour ? behaviour.reply : await replyTo(call);
    } catch (err) {
      // A throwing reply function shows up in the test as the SDK's 500 error with this message.
      return fail(500, (err as Error).message);
    }
    const reply = {
      text: given.text,
      inputTokens: given.inputTokens ?? words([call.system ?? '', ...call.messages.map((m) => m.text)].join(' ')),
      outputTokens: given.outputTokens ?? words(given.text),
    };
    record.answer.reply = reply;
    served += 1;
    const id = dialect === openai ? `chatcmpl-fake${served}` : `msg_fake${served}`;
    const breakOff: BreakOff = behaviour === undefined ? undefined : 'malformed' in behaviour ? 'malformed' : 'stall' in behaviour ? 'stall' : undefined;
    if (call.stream) {
      const asked = options.ignoreStreamOptions ? { ...call, body: { ...call.body, stream_options: undefined } } : call;
      return dialect.stream(res, record, asked, reply, id, breakOff);
    }
    if (breakOff === 'stall') return;
    if (breakOff === 'malformed') {
      record.answer.status = 200;
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(`{"id":"${id}","model":"${call.model}","cont`);
    }
    dialect.answer(res, record, call, reply, id);
  }

  const server = createServer((req, res) => {
    // Only close() (ending a delay) or a client gone mid-answer get here: there is no one to answer.
    handle(req, res).catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const closed = new Promise<void>((resolve) => server.once('close', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    apiKey,
    requests,
    script: (...next) => void behaviours.push(...next),
    close() {
      if (!closing.signal.aborted) {
        closing.abort();
        server.closeAllConnections();
        server.close();
      }
      return closed;
    },
  };
}
