import type { IncomingMessage, ServerResponse } from 'node:http';
import { FAULT_KINDS, type FaultKind, type WhatsAppSimulator } from './server.ts';

// The simulator's control API, on the same port as `/ws/chat` (documented in the README): tests, benchmarks
// and the offline demo drive the simulated phones through it.

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function reply(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
}

export async function handleControl(sim: WhatsAppSimulator, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const route = `${req.method} ${path}`;
  let match: RegExpExecArray | null;

  if (route === 'GET /control/health') return reply(res, 200, { status: 'ok' });

  if (route === 'POST /control/phones') {
    const { number } = await body(req);
    if (typeof number !== 'string' || !/^\d{6,15}$/.test(number)) return reply(res, 400, { error: 'number must be 6 to 15 digits' });
    const phone = sim.createPhone(number);
    return reply(res, 201, { number: phone.number, jid: phone.jid, lid: `${phone.lid}@lid` });
  }

  if (route === 'POST /control/scan') {
    const { qr, phone } = await body(req);
    if (typeof qr !== 'string' || typeof phone !== 'string') return reply(res, 400, { error: 'qr and phone are required' });
    try {
      sim.scan(qr, phone);
    } catch (err) {
      return reply(res, 404, { error: err instanceof Error ? err.message : String(err) });
    }
    return reply(res, 202, { scanned: true });
  }

  if (route === 'GET /control/devices') {
    return reply(res, 200, [...sim.devices.entries()].map(([jid, d]) => ({ jid, lid: d.lid, phone: d.phone.number, connections: sim.connectionsOf(jid).length })));
  }

  if (req.method === 'POST' && (match = /^\/control\/devices\/([^/]+)\/fault$/.exec(path))) {
    const jid = decodeURIComponent(match[1]!);
    const { kind, durationMs } = await body(req);
    if (!FAULT_KINDS.includes(kind as FaultKind)) return reply(res, 400, { error: `kind must be one of ${FAULT_KINDS.join(', ')}` });
    if (!sim.devices.has(jid)) return reply(res, 404, { error: `no linked device ${jid}` });
    sim.fault(jid, kind as FaultKind, typeof durationMs === 'number' ? durationMs : undefined);
    return reply(res, 202, { fault: kind });
  }

  return reply(res, 404, { error: `no control route ${route}` });
}
