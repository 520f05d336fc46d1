import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { AppError, type ErrorCode } from '../domain/errors.ts';

// Where a webhook may go. A receiver's URL must not reach into our own network (loopback, private, link-local,
// carrier-grade NAT, the cloud metadata address): checked when an endpoint is saved, and again on every connection
// against the addresses DNS gives at that moment, so a name that later resolves inward (DNS rebinding) is refused
// too. ALLOW_PRIVATE_WEBHOOKS=true lifts the rule for development and tests.

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

const BLOCKED_NAMES = new Set(['localhost', 'metadata.google.internal', 'metadata']);

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? blocked.check(mapped[1]!, 'ipv4') : blocked.check(address, 'ipv6');
}

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').toLowerCase();

// Checks a URL as it is saved: scheme, no credentials in it, and every address its host resolves to.
export function checkWebhookUrl(text: string, allowPrivate: boolean): Promise<URL> {
  return checkPublicUrl(text, allowPrivate, { what: 'a webhook URL', code: 'INVALID_WEBHOOK_URL', setting: 'ALLOW_PRIVATE_WEBHOOKS', credentials: 'use custom headers' });
}

// The same rules for any address the platform fetches or posts to on a user's behalf (media to send by URL too).
export async function checkPublicUrl(
  text: string,
  allowPrivate: boolean,
  { what, code, setting, credentials }: { what: string; code: ErrorCode; setting: string; credentials: string },
): Promise<URL> {
  const invalid = (message: string) => new AppError(code, message);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`"${text}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`${what} must be http:// or https://`);
  if (url.username || url.password) throw invalid(`${what} must not carry credentials (${credentials})`);
  if (allowPrivate) return url;
  const host = hostOf(url);
  if (BLOCKED_NAMES.has(host) || host.endsWith('.localhost') || host.endsWith('.internal')) throw invalid(`${host} is a private address`);
  const addresses = isIP(host) ? [host] : await resolveAll(host, invalid);
  const inward = addresses.find(isPrivateAddress);
  if (inward) throw invalid(`${host} resolves to ${inward}, a private address (set ${setting}=true for development)`);
  return url;
}

async function resolveAll(host: string, invalid: (message: string) => AppError): Promise<string[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (err, addresses: LookupAddress[]) => {
      if (err) reject(invalid(`${host} does not resolve (${err.code ?? err.message})`));
      else resolve(addresses.map((a) => a.address));
    });
  });
}

// For the connection itself: resolves as usual and refuses private answers, so the address checked is the one
// connected to.
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const inward = addresses.find((a) => isPrivateAddress(a.address));
    if (inward) return callback(Object.assign(new Error(`${hostname} resolves to ${inward.address}, a private address`), { code: 'EPRIVATE' }), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

// For a URL whose host is an address already: lookup is never asked, so it is checked here.
export function checkLiteralAddress(url: URL, allowPrivate: boolean): void {
  const host = hostOf(url);
  if (!allowPrivate && isIP(host) && isPrivateAddress(host)) throw new Error(`${host} is a private address`);
}
