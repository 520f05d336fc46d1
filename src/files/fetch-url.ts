import http from 'node:http';
import https from 'node:https';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '../domain/errors.ts';
import { checkLiteralAddress, checkPublicUrl, publicOnlyLookup } from '../webhooks/destinations.ts';

// Media given by URL for a send: fetched once, under the rules webhooks follow (public addresses only, checked again
// on every connection against what DNS answers then), with a deadline on the whole transfer and a bounded number of
// redirects, each checked like the first address.

const MAX_REDIRECTS = 3;

export interface FetchedMedia {
  body: Readable;
  // From Content-Disposition, else the URL's last path segment.
  filename: string;
  // Content-Length when the server gave one.
  length?: number;
}

export interface FetchOptions {
  allowPrivate: boolean;
  timeoutMs: number;
  // A body announced larger than this is refused before it is read.
  maxBytes: number;
}

const agents = {
  'http:': new http.Agent({ keepAlive: false, lookup: publicOnlyLookup }),
  'https:': new https.Agent({ keepAlive: false, lookup: publicOnlyLookup }),
};

const failed = (url: URL, why: string) => new AppError('MEDIA_FETCH_FAILED', `${url.origin}${url.pathname} ${why}`);

export async function fetchMediaUrl(text: string, options: FetchOptions): Promise<FetchedMedia> {
  let url = await checkPublicUrl(text, options.allowPrivate, { what: 'a media URL', code: 'INVALID_MEDIA_URL', setting: 'ALLOW_PRIVATE_MEDIA_URLS', credentials: 'give a URL that needs none' });
  const deadline = AbortSignal.timeout(options.timeoutMs);
  for (let redirects = 0; ; redirects++) {
    const response = await get(url, options, deadline);
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400 && response.headers.location) {
      response.resume();
      if (redirects >= MAX_REDIRECTS) throw failed(url, `redirected more than ${MAX_REDIRECTS} times`);
      url = await checkPublicUrl(new URL(response.headers.location, url).toString(), options.allowPrivate, {
        what: 'a media URL (after a redirect)',
        code: 'INVALID_MEDIA_URL',
        setting: 'ALLOW_PRIVATE_MEDIA_URLS',
        credentials: 'give a URL that needs none',
      });
      continue;
    }
    if (status < 200 || status >= 300) {
      response.resume();
      throw failed(url, `answered ${status}`);
    }
    const length = Number(response.headers['content-length']);
    if (Number.isFinite(length) && length > options.maxBytes) {
      response.destroy();
      throw new AppError('FILE_TOO_LARGE', `${url.origin}${url.pathname} is ${length} bytes; files may be at most ${options.maxBytes}`);
    }
    return { body: response, filename: filenameOf(url, response.headers['content-disposition']), ...(Number.isFinite(length) ? { length } : {}) };
  }
}

function get(url: URL, options: FetchOptions, signal: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    try {
      checkLiteralAddress(url, options.allowPrivate);
    } catch (err) {
      return reject(new AppError('INVALID_MEDIA_URL', (err as Error).message));
    }
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.get(url, {
      ...(options.allowPrivate ? {} : { agent: agents[url.protocol as 'http:' | 'https:'] }),
      headers: { 'user-agent': 'wa-platform-media/1', accept: '*/*' },
      signal,
    });
    request.on('response', resolve);
    request.on('error', (err) => reject(signal.aborted ? failed(url, `did not finish within the fetch deadline`) : failed(url, `could not be fetched (${err.message})`)));
  });
}

function filenameOf(url: URL, disposition: string | undefined): string {
  const star = disposition && /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1]!.trim());
    } catch {
      // Badly encoded: the plain form or the URL names it instead.
    }
  }
  const plain = disposition && /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
  if (plain) return plain[1]!.trim();
  let path = url.pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    // Kept encoded.
  }
  const last = basename(path);
  return last && last !== '/' ? last : 'file';
}
