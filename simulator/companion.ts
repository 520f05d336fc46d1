import { makeWASocket, type AuthenticationState, type ConnectionState, type WASocket } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { memoryAuth } from './memory-auth.ts';

// Drives the real Baileys client against the simulator, the way a test or the platform would.

export function statusOf(update: Partial<ConnectionState>): number | undefined {
  return (update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;
}

export function startCompanion(url: string, auth: AuthenticationState, onUpdate: (update: Partial<ConnectionState>) => void): WASocket {
  // App-state MACs are checked (Baileys' default skips them), so a patch the simulator got wrong fails here.
  const socket = makeWASocket({
    waWebSocketUrl: url,
    auth,
    logger: pino({ level: 'silent' }),
    markOnlineOnConnect: false,
    appStateMacVerification: { patch: true, snapshot: true },
  });
  socket.ev.on('creds.update', (update) => Object.assign(auth.creds, update));
  socket.ev.on('connection.update', onUpdate);
  return socket;
}

// Links a new companion: it shows a QR, `scan` has a phone scan it, and the companion closes with 515.
export async function linkCompanion(url: string, scan: (qr: string) => void | Promise<void>): Promise<{ auth: AuthenticationState; closedWith?: number }> {
  const auth = memoryAuth();
  const closedWith = await new Promise<number | undefined>((resolve) => {
    startCompanion(url, auth, (update) => {
      if (update.qr) void scan(update.qr);
      if (update.connection === 'close') resolve(statusOf(update));
    });
  });
  return { auth, ...(closedWith === undefined ? {} : { closedWith }) };
}

export interface OpenCompanion {
  socket: WASocket;
  // Resolves with the status code of the next close.
  closed: Promise<number | undefined>;
}

// `onCreated` sees the socket before it logs in, in time for what the server delivers at login.
export function openCompanion(url: string, auth: AuthenticationState, onCreated?: (socket: WASocket) => void): Promise<OpenCompanion> {
  return new Promise((resolve, reject) => {
    let opened = false;
    let onClose: (code: number | undefined) => void = () => {};
    const closed = new Promise<number | undefined>((r) => (onClose = r));
    const socket = startCompanion(url, auth, (update) => {
      if (update.qr) reject(new Error('a linked device was shown a QR'));
      if (update.connection === 'open') {
        opened = true;
        resolve({ socket, closed });
      }
      if (update.connection === 'close') {
        if (opened) onClose(statusOf(update));
        else reject(Object.assign(new Error(`closed with ${statusOf(update)} before opening`), { statusCode: statusOf(update) }));
      }
    });
    onCreated?.(socket);
  });
}

// A companion linked to a phone (`scan` has that phone scan its QR) and logged in.
export async function connectedCompanion(url: string, scan: (qr: string) => void | Promise<void>): Promise<OpenCompanion & { auth: AuthenticationState }> {
  const { auth } = await linkCompanion(url, scan);
  return { auth, ...(await openCompanion(url, auth)) };
}
