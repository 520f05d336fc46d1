import { createHmac } from 'node:crypto';

// The signature headers of one request. The body is signed as the exact bytes sent.
// - Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed by the bytes
//   after `whsec_` (base64), or the secret's own bytes when it isn't in that form; one signature per live secret
//   during a rotation, space-separated.
// - Seed 004: `X-Webhook-Signature: <hex HMAC-SHA256 of the body>` keyed by the secret string as configured (its
//   receiver snippet re-serialises the parsed body, which gives back these bytes: the body is JSON.stringify's).
// - Meta/GitHub: `X-Hub-Signature-256: sha256=<the same hex>`.

export function standardKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

export interface SignatureHeaders extends Record<string, string> {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
  'x-webhook-signature': string;
  'x-hub-signature-256': string;
}

export function signatureHeaders(body: string, secrets: readonly string[], webhookId: string, timestampSeconds: number): SignatureHeaders {
  const [current] = secrets;
  if (!current) throw new Error('an endpoint always has a secret');
  const signed = `${webhookId}.${timestampSeconds}.${body}`;
  const hex = createHmac('sha256', current).update(body).digest('hex');
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((secret) => `v1,${createHmac('sha256', standardKey(secret)).update(signed).digest('base64')}`).join(' '),
    'x-webhook-signature': hex,
    'x-hub-signature-256': `sha256=${hex}`,
  };
}
