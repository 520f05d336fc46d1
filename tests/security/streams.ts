import { randomBytes, randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { appendToStream } from '../../src/events/event-store.ts';
import { openSse } from '../helpers/sse.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { leaksOf } from './leaks.ts';
import { CREDENTIAL_KINDS, type Tenant } from './tenants.ts';

// The streaming routes, which the generic loops cannot inject: a short read by the intruder while the victim's
// session has news, and the same read by the victim herself, which must hear it (else the read proves nothing).

const READ_MS = 1_500;

interface Reading {
  texts: string[];
  close(): void;
}

async function sse(url: string, headers: Record<string, string>): Promise<Reading> {
  try {
    const reading = await openSse(url, headers);
    return {
      get texts() {
        return reading.messages.map((m) => m.data);
      },
      close: reading.abort,
    };
  } catch (err) {
    return { texts: [(err as Error).message], close: () => {} };
  }
}

async function ws(url: string, headers: Record<string, string>, first?: object): Promise<Reading> {
  const socket = new WebSocket(url, { headers });
  const texts: string[] = [];
  socket.on('message', (raw) => texts.push(String(raw)));
  socket.on('unexpected-response', (_req, res) => texts.push(`HTTP ${res.statusCode}`));
  socket.on('close', (code, reason) => texts.push(`closed ${code} ${reason}`));
  socket.on('error', (err) => texts.push(`error ${err.message}`));
  await new Promise<void>((resolve) => {
    socket.once('open', () => resolve());
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
  });
  if (first && socket.readyState === socket.OPEN) socket.send(JSON.stringify(first));
  return { texts, close: () => socket.terminate() };
}

// Findings, one line each: the stream, the credential, what it heard of the victim's (or, for the victim, that
// she heard nothing: the probe would then prove nothing).
export async function probeStreams(platform: TestPlatform, victim: Tenant, intruder: Tenant): Promise<string[]> {
  const base = await platform.app.listen({ port: 0, host: '127.0.0.1' });
  const wsBase = base.replace('http', 'ws');
  const [device] = victim.devices;
  const streams: { name: string; open(headers: Record<string, string>): Promise<Reading>; sent: string }[] = [
    { name: 'SSE by session', sent: device!.sessionId, open: (h) => sse(`${base}/api/whatsapp/events/stream?sessionId=${encodeURIComponent(device!.sessionId)}`, h) },
    { name: 'SSE by device', sent: String(device!.id), open: (h) => sse(`${base}/api/whatsapp/events/stream?deviceId=${device!.id}`, h) },
    { name: '/ws subscribe', sent: device!.sessionId, open: (h) => ws(`${wsBase}/ws`, h, { type: 'subscribe', sessionId: device!.sessionId }) },
    { name: '/api/ws/{sessionId}', sent: device!.sessionId, open: (h) => ws(`${wsBase}/api/ws/${encodeURIComponent(device!.sessionId)}`, h) },
  ];
  const findings: string[] = [];
  for (const stream of streams) {
    const readings = new Map<string, Reading>();
    for (const kind of CREDENTIAL_KINDS) readings.set(`bob's ${kind}`, await stream.open(intruder.credentials[kind]));
    const own = await stream.open(victim.credentials.jwt);
    // Subscriptions are live: let them settle before the news.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const news = `live-${victim.marker}-${randomBytes(3).toString('hex')}`;
    // A QR: the one kind of news every stream carries (seed 003's socket sends QRs and connection changes only).
    await appendToStream(platform.app.orm.em.fork(), `test-${randomUUID()}`, [{ event: { type: 'device.qr-issued', data: { qr: news } } }], {
      expectedVersion: 'no-stream',
      metadata: { tenantId: victim.id, deviceId: device!.id, sessionId: device!.sessionId },
    });
    await new Promise((resolve) => setTimeout(resolve, READ_MS));
    for (const [credential, reading] of readings) {
      reading.close();
      const heard = reading.texts.join('\n');
      const leaked = leaksOf(victim, stream.sent, { body: heard, headers: {} });
      if (leaked.length) findings.push(`${stream.name} as ${credential}: heard ${leaked.join(', ')} in ${heard.slice(0, 400)}`);
    }
    own.close();
    if (!own.texts.some((t) => t.includes(news))) findings.push(`${stream.name}: the victim herself did not hear her news (heard ${own.texts.join(' | ').slice(0, 300)})`);
  }
  return findings;
}
