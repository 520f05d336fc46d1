// `npm run simulator`: the WhatsApp network simulator on SIMULATOR_PORT (default 7780), for the offline demo and
// manual testing. Point the platform at it with WA_WEBSOCKET_URL=ws://127.0.0.1:7780/ws/chat. Its media host
// speaks HTTPS with a certificate made at start, written to SIMULATOR_CA_FILE for Baileys processes to trust.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { WhatsAppSimulator } from './server.ts';

const port = Number(process.env.SIMULATOR_PORT ?? 7780);
const host = process.env.SIMULATOR_HOST ?? '127.0.0.1';
const caFile = resolve(process.env.SIMULATOR_CA_FILE ?? './.simulator-ca.pem');
const sim = new WhatsAppSimulator();
const { url, control, mediaUrl, caPem } = await sim.listen(port, host);
await writeFile(caFile, caPem);
console.log(`WhatsApp simulator: ${url} (control API on ${control}, media on ${mediaUrl})`);
console.log(`Processes running Baileys against it must trust its media certificate: NODE_EXTRA_CA_CERTS=${caFile}`);
const stop = async () => {
  await sim.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
