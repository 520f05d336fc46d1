import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { once } from 'node:events';

// Webhook receivers: real HTTP servers on loopback that record every request and answer as a test says.

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
}

export type Answer = (request: ReceivedRequest, index: number, response: ServerResponse) => void;

export const answerWith = (status: number, headers: Record<string, string> = {}): Answer => (_req, _i, res) => {
  res.writeHead(status, headers).end(status < 300 ? 'ok' : `error ${status}`);
};

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  // How the next requests are answered (by default 200 at once).
  answer: Answer;
  close(): Promise<void>;
}

export async function startReceiver(answer: Answer = answerWith(200)): Promise<Receiver> {
  const receiver = { url: '', requests: [] as ReceivedRequest[], answer, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      receiver.requests.push(received);
      receiver.answer(received, receiver.requests.length - 1, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  receiver.url = `http://127.0.0.1:${port}/hook`;
  receiver.close = async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  };
  return receiver;
}
