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
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
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
const clients = new Map<string, OpenAI | Anthropic>();

function clientFor(request: CompletionRequest): OpenAI | Anthropic {
  const key = `${request.kind}\n${request.endpoint ?? ''}\n${request.apiKey ?? ''}`;
  const known = clients.get(key);
  if (known) return known;
  const options = { maxRetries: 0, ...(request.endpoint ? { baseURL: request.endpoint } : {}) };
  // A local OpenAI-compatible server may take no key; the SDK insists on one.
  const client = request.kind === 'anthropic' ? new Anthropic({ ...options, apiKey: request.apiKey ?? null }) : new OpenAI({ ...options, apiKey: request.apiKey ?? 'none' });
  clients.set(key, client);
  if (clients.size > CLIENTS_KEPT) clients.delete(clients.keys().next().value!);
  return client;
}

// Retry-After in seconds or as an HTTP date, or OpenAI's retry-after-ms.
function retryAfterOf(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (ms > 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const RETRYABLE_STATUS = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

function providerErrorOf(err: unknown, kind: ProviderKind, timedOut: boolean): ProviderError {
  if (err instanceof ProviderError) return err;
  const SDK = kind === 'anthropic' ? Anthropic : OpenAI;
  if (timedOut) return new ProviderError(`the ${kind} provider did not answer in time`, { retryable: true, cause: err });
  if (err instanceof SDK.APIError && typeof err.status === 'number') {
    const retryAfterMs = retryAfterOf(err.headers as Headers | undefined);
    return new ProviderError(`the ${kind} provider answered ${err.status}: ${err.message}`, {
      retryable: RETRYABLE_STATUS(err.status),
      status: err.status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      cause: err,
    });
  }
  if (err instanceof SDK.APIUserAbortError) return new ProviderError('the call was cancelled', { retryable: false, cause: err });
  // Connection errors and streams that broke off (a malformed chunk is a SyntaxError, wrapped or not).
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError(`the ${kind} provider could not be read: ${message}`, { retryable: true, cause: err });
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
    const delta = chunk.choices[0]?.delta.content;
    if (delta) {
      text += delta;
      request.onText?.(delta);
    }
    if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
  }
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
  const final = await stream.finalMessage();
  const text = final.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('');
  const usage = final.usage ? { inputTokens: final.usage.input_tokens ?? 0, outputTokens: final.usage.output_tokens ?? 0 } : undefined;
  return { text, usage, model: final.model || request.model };
}

export async function complete(request: CompletionRequest): Promise<Completion> {
  if (request.kind === 'openai-compatible' && !request.endpoint) throw new ProviderError('an OpenAI-compatible provider needs an endpoint', { retryable: false });
  const started = Date.now();
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
    const timedOut = deadline.aborted || (err instanceof Error && err.name === 'APIConnectionTimeoutError');
    throw providerErrorOf(err, request.kind, timedOut);
  }
}
