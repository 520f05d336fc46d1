import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { MEDIA_PATHS, sha256, type MediaPath } from './media-crypto.ts';
import { MAX_UPLOAD_BYTES, type MediaStore } from './media-store.ts';

// The simulator's media host. Baileys hard-codes https for uploads and downloads, so it serves TLS with a
// certificate made at start for 127.0.0.1 and localhost; Baileys processes trust it through its PEM
// (NODE_EXTRA_CA_CERTS, or tls.setDefaultCACertificates in tests), never by switching verification off.

function answer(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
}

async function bodyOf(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_UPLOAD_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

// `POST /mms/<path>/<token>?auth=…&token=…`, token = base64url(sha256(body)): everything a server can check
// without the media key. What fails is answered 4xx with `{error}` and counted as rejected.
async function upload(store: MediaStore, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const reject = (status: number, error: string) => {
    store.rejected();
    answer(res, status, { error });
  };
  const [, mms, path, token, ...rest] = url.pathname.split('/');
  if (mms !== 'mms' || !MEDIA_PATHS.includes(path as MediaPath) || !token || rest.length) return reject(404, `no upload path ${url.pathname}`);
  if (!store.issued(url.searchParams.get('auth') ?? '')) return reject(401, 'auth is not one media_conn issued');
  const body = await bodyOf(req);
  if (!body) return reject(413, `more than ${MAX_UPLOAD_BYTES} bytes`);
  const hash = sha256(body).toString('base64url');
  if (token !== hash || url.searchParams.get('token') !== hash) return reject(400, 'the token is not the sha256 of the body');
  const directPath = store.upload(body, path as MediaPath);
  answer(res, 200, { url: store.urlOf(directPath), direct_path: directPath });
}

async function handle(store: MediaStore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://x');
  if (req.method === 'POST') return upload(store, req, res, url);
  if (req.method !== 'GET') return answer(res, 405, { error: `${req.method} is not served here` });
  const found = store.download(url.pathname);
  if (found.status !== 200 || !('body' in found)) return answer(res, found.status, { error: `no media at ${url.pathname}` });
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': found.body.length }).end(found.body);
}

export interface MediaServer {
  // The base URL (`https://127.0.0.1:<port>`) and the certificate to trust, in PEM.
  listen(host: string): Promise<{ url: string; caPem: string }>;
  close(): Promise<void>;
}

export function createMediaServer(store: MediaStore): MediaServer {
  let server: https.Server | undefined;
  return {
    async listen(host) {
      const pems = await generate([{ name: 'commonName', value: 'WhatsApp simulator media' }], {
        keyType: 'ec',
        curve: 'P-256',
        notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
        extensions: [
          { name: 'basicConstraints', cA: true },
          { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
          { name: 'extKeyUsage', serverAuth: true },
          { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
        ],
      });
      const created = https.createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
        handle(store, req, res).catch((err) => answer(res, 500, { error: String(err) }));
      });
      server = created;
      await new Promise<void>((resolve) => created.listen(0, host, resolve));
      store.host = `${host}:${(created.address() as AddressInfo).port}`;
      return { url: `https://${store.host}`, caPem: pems.cert };
    },
    async close() {
      const closing = server;
      if (!closing) return;
      closing.closeAllConnections();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
  };
}
