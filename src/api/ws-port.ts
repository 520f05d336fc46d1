import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';

// Seed 004's clients connect to `ws://host:3001?token=…`: a port of its own, path `/`. A bare server on WS_PORT
// (3001 unless set; `off` for none) hands every upgrade to the API's WebSocket routes (`/` meaning `/ws`); it
// serves nothing else.
export async function listenWsPort(app: FastifyInstance, port: number, host: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    const message = 'This port serves WebSocket connections only: connect with ws://<host>:<port>/?token=<token>; the HTTP API is on the main port';
    res.writeHead(426, { 'content-type': 'application/json' }).end(JSON.stringify({ success: false, error: 'WebSocket only', message, code: 'NOT_FOUND' }));
  });
  server.on('upgrade', (req, socket, head) => {
    if (req.url?.startsWith('/?') || req.url === '/') req.url = `/ws${req.url.slice(1)}`;
    app.server.emit('upgrade', req, socket, head);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
