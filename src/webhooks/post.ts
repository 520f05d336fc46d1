import http from 'node:http';
import https from 'node:https';
import { checkLiteralAddress, publicOnlyLookup } from './destinations.ts';

// One POST to a receiver, with a deadline for the whole exchange and a short snippet of the answer kept for the
// delivery log. Redirects are not followed (they count as failures, as with Svix). Connections are kept alive per
// process, and every new one goes through the private-address check unless ALLOW_PRIVATE_WEBHOOKS is set.

export interface PostOutcome {
  statusCode?: number;
  latencyMs: number;
  responseSnippet?: string;
  error?: string;
  retryAfter?: string;
}

const SNIPPET_CHARS = 500;
// Read no more than this of an answer: a receiver can't make us buffer megabytes.
const MAX_READ_BYTES = 64 * 1024;

export interface WebhookPoster {
  post(url: URL, headers: Record<string, string>, body: string): Promise<PostOutcome>;
  close(): void;
}

export function createWebhookPoster({ timeoutMs, allowPrivate }: { timeoutMs: number; allowPrivate: boolean }): WebhookPoster {
  const lookup = allowPrivate ? undefined : publicOnlyLookup;
  const agents = {
    'http:': new http.Agent({ keepAlive: true, ...(lookup ? { lookup } : {}) }),
    'https:': new https.Agent({ keepAlive: true, ...(lookup ? { lookup } : {}) }),
  };
  return {
    post(url, headers, body) {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      return new Promise<PostOutcome>((resolve) => {
        try {
          checkLiteralAddress(url, allowPrivate);
        } catch (err) {
          resolve({ latencyMs: 0, error: (err as Error).message });
          return;
        }
        const transport = url.protocol === 'https:' ? https : http;
        const request = transport.request(url, {
          method: 'POST',
          agent: agents[url.protocol as 'http:' | 'https:'],
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'wa-platform-webhooks/1', ...headers },
        });
        const deadline = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        request.on('error', (err) => {
          clearTimeout(deadline);
          resolve({ latencyMs: elapsed(), error: err.message });
        });
        request.on('response', (response) => {
          const chunks: Buffer[] = [];
          let read = 0;
          const finish = () => {
            clearTimeout(deadline);
            const text = Buffer.concat(chunks).toString('utf8');
            const retryAfter = response.headers['retry-after'];
            resolve({
              statusCode: response.statusCode!,
              latencyMs: elapsed(),
              ...(text ? { responseSnippet: text.slice(0, SNIPPET_CHARS) } : {}),
              ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
            });
          };
          response.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read <= MAX_READ_BYTES) chunks.push(chunk);
            else response.destroy();
          });
          response.on('end', finish);
          response.on('close', finish);
          response.on('error', () => undefined);
        });
        request.end(body);
      });
    },
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
