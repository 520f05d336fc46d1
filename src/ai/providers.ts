import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

// One streamed completion from a provider, through its own SDK: OpenAI's Chat Completions (also every
// OpenAI-compatible server: Ollama, vLLM, OpenRouter, Groq…) and Anthropic's Messages. The SDKs' own retries are off:
// the reply job retries, and must see (and log) every attempt. Failures become a ProviderError that says whether
// trying again may help and how long the provider asked to wait.

export type ProviderKind = 'openai' | 'anthropic' | 'openai-compatible';

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface CompletionRequest {
  kind: ProviderKind;
  // Base URL; required for openai-compatible (e.g. http://localhost:11434/v1).
  endpoint?: string;
  // Required but for openai-compatible: a local server (Ollama) may take none.
  apiKey?: string;
  model: string;
  system?: string;
  // Oldest first; the last is the user's.
  turns: ChatTurn[];
  temperature?: number;
  maxTokens?: number;
  // The whole call, streaming included.
  timeoutMs: number;
  signal?: AbortSignal;
  onText?: (delta: string) => void;
}

export interface Completion {
  text: string;
  inputTokens: number;
  outputTokens: number;
  durationMs: number;
  model: string;
  // False when the provider sent no usage (tokens then count 0).
  usageReported: boolean;
}

export class ProviderError extends Error {
  readonly code = 'AI_PROVIDER_ERROR';
  readonly retryable: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;
  constructor(message: string, options: { retryable: boolean; status?: number; retryAfterMs?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'ProviderError';
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

// Anthropic requires max_tokens.
const DEFAULT_MAX_TOKENS = 1024;
const CLIENTS_KEPT = 100;
// Least recently used first.
const clients = new Map<string, OpenAI | Anthropic>();

function newClient({ kind, endpoint, apiKey }: CompletionRequest): OpenAI | Anthropic {
  // logLevel off: the SDKs log a chunk they cannot parse with its raw text (the customer's conversation); the
  // ProviderError reports the failure. Credentials are passed explicitly (organization, project and authToken
  // null) so that none is read from the process environment and sent to a tenant's endpoint.
  const options = { maxRetries: 0, logLevel: 'off' as const, ...(endpoint ? { baseURL: endpoint } : {}) };
  if (kind === 'anthropic') return new Anthropic({ ...options, apiKey: apiKey!, authToken: null });
  // The SDK insists on a key, which a keyless local server ignores.
  return new OpenAI({ ...options, apiKey: apiKey ?? 'none', organization: null, project: null });
}

function clientFor(request: CompletionRequest): OpenAI | Anthropic {
  const key = JSON.stringify([request.kind, request.endpoint ?? '', request.apiKey ?? '']);
  const client = clients.get(key) ?? newClient(request);
  clients.delete(key);
  clients.set(key, client);
  if (clients.size > CLIENTS_KEPT) clients.delete(clients.keys().next().value!);
  return client;
}

// retry-after-ms (OpenAI's), else Retry-After in seconds or as an HTTP date.
function retryAfterOf(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? NaN);
  if (ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

// 409 is the SDKs' own rule too: OpenAI answers it for a lock timeout.
const retryableStatus = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

// The provider's own wording rather than the SDK's (Anthropic's message is the whole JSON body).
function detailOf(err: unknown): string {
  if (err instanceof Anthropic.APIError && err.apiMessage) return err.apiMessage;
  const body = err instanceof OpenAI.APIError ? (err.error as { message?: unknown } | undefined) : undefined;
  if (typeof body?.message === 'string' && body.message) return body.message;
  if (!(err instanceof Error)) return String(err);
  // The SDKs' "Connection error." does not say which; the innermost cause does (connect ECONNREFUSED 10.0.0.5:11434).
  let cause = err.cause;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  return (err instanceof OpenAI.APIConnectionError || err instanceof Anthropic.APIConnectionError) && cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
}

function providerErrorOf(err: unknown, request: CompletionRequest, deadline: AbortSignal): ProviderError {
  if (err instanceof ProviderError) return err;
  const SDK = request.kind === 'anthropic' ? Anthropic : OpenAI;
  const who = `the ${request.kind} provider`;
  // A provider echoing the key back (some proxies do) must not put it in logs and API answers.
  const detail = request.apiKey && request.apiKey.length >= 8 ? detailOf(err).replaceAll(request.apiKey, '[redacted]') : detailOf(err);
  if (deadline.aborted || err instanceof SDK.APIConnectionTimeoutError) {
    return new ProviderError(`${who} did not answer within ${request.timeoutMs} ms`, { retryable: true, cause: err });
  }
  // The caller gave up, not the provider: another attempt may well succeed.
  if (request.signal?.aborted) return new ProviderError(`the call to ${who} was cancelled`, { retryable: true, cause: err });
  if (err instanceof SDK.APIError && err.status !== undefined) {
    return new ProviderError(`${who} answered ${err.status}: ${detail}`, {
      retryable: retryableStatus(err.status),
      status: err.status,
      retryAfterMs: retryAfterOf(err.headers),
      cause: err,
    });
  }
  // Connection errors, an error event mid-stream, a stream that broke off (a malformed chunk is a SyntaxError,
  // wrapped by Anthropic's SDK, bare from OpenAI's).
  return new ProviderError(`${who} could not be reached or read: ${detail}`, { retryable: true, cause: err });
}

async function streamOpenAi(client: OpenAI, request: CompletionRequest, signal: AbortSignal) {
  const messages: OpenAI.ChatCompletionMessageParam[] = [...(request.system ? [{ role: 'system' as const, content: request.system }] : []), ...request.turns];
  const stream = await client.chat.completions.create(
    {
      model: request.model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
    },
    { signal, timeout: request.timeoutMs },
  );
  let text = '';
  let usage: { inputTokens: number; outputTokens: number } | undefined;
  let model = request.model;
  for await (const chunk of stream) {
    model = chunk.model || model;
    const delta = chunk.choices[0]?.delta?.content;
    if (delta) {
      text += delta;
      request.onText?.(delta);
    }
    if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
  }
  // An abort mid-stream ends the SDK's iterator quietly, which would pass a cut-off reply as whole.
  signal.throwIfAborted();
  return { text, usage, model };
}

async function streamAnthropic(client: Anthropic, request: CompletionRequest, signal: AbortSignal) {
  const stream = client.messages.stream(
    {
      model: request.model,
      max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
      messages: request.turns,
      ...(request.system ? { system: request.system } : {}),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    },
    { signal, timeout: request.timeoutMs },
  );
  if (request.onText) stream.on('text', request.onText);
  // The snapshot's usage is message_start's input_tokens with message_delta's output_tokens folded in.
  const final = await stream.finalMessage();
  const text = final.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('');
  const usage = final.usage ? { inputTokens: final.usage.input_tokens ?? 0, outputTokens: final.usage.output_tokens ?? 0 } : undefined;
  return { text, usage, model: final.model || request.model };
}

export async function complete(request: CompletionRequest): Promise<Completion> {
  if (request.kind === 'openai-compatible' && !request.endpoint) throw new ProviderError('an OpenAI-compatible provider needs an endpoint', { retryable: false });
  if (request.kind !== 'openai-compatible' && !request.apiKey) throw new ProviderError(`the ${request.kind} provider has no API key`, { retryable: false });
  const started = Date.now();
  // The SDKs' timeout stops at the response headers; this one also covers the stream.
  const deadline = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, deadline]) : deadline;
  const client = clientFor(request);
  try {
    const answer = request.kind === 'anthropic' ? await streamAnthropic(client as Anthropic, request, signal) : await streamOpenAi(client as OpenAI, request, signal);
    if (!answer.text.trim()) throw new ProviderError(`the ${request.kind} provider gave an empty reply`, { retryable: true });
    return {
      text: answer.text,
      inputTokens: answer.usage?.inputTokens ?? 0,
      outputTokens: answer.usage?.outputTokens ?? 0,
      durationMs: Date.now() - started,
      model: answer.model,
      usageReported: answer.usage !== undefined,
    };
  } catch (err) {
    throw providerErrorOf(err, request, deadline);
  }
}
