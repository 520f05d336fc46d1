// `npm run simulator`: the WhatsApp network simulator on SIMULATOR_PORT (default 7780), for the offline demo and
// manual testing. Point the platform at it with WA_WEBSOCKET_URL=ws://127.0.0.1:7780/ws/chat.
import { WhatsAppSimulator } from './server.ts';

const port = Number(process.env.SIMULATOR_PORT ?? 7780);
const host = process.env.SIMULATOR_HOST ?? '127.0.0.1';
const sim = new WhatsAppSimulator();
const { url, control } = await sim.listen(port, host);
console.log(`WhatsApp simulator: ${url} (control API on ${control})`);
const stop = async () => {
  await sim.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
