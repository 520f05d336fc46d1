// `npm run demo`: the whole platform on one machine with no WhatsApp in reach. It starts the WhatsApp network
// simulator (simulator/) on SIMULATOR_PORT, points this process's platform at it, and — unless
// DEMO_AUTO_LINK=false — has a new simulated phone scan every QR a device shows, so a device created through the
// API is connected a moment later. Production never talks to the simulator: only this entry point sets
// WA_WEBSOCKET_URL to it.
import { loadConfig } from '../src/config.ts';
import { openOrm } from '../src/db/orm.ts';
import { checkpointAt, headOfFeed, readFeed } from '../src/events/event-store.ts';
import { WhatsAppSimulator } from '../simulator/server.ts';
import { trustSimulator } from '../simulator/trust.ts';

const sim = new WhatsAppSimulator();
const { url, control, caPem } = await sim.listen(Number(process.env.SIMULATOR_PORT ?? 7780), process.env.SIMULATOR_HOST ?? '127.0.0.1');
process.env.WA_WEBSOCKET_URL = url;
// Simulated numbers cannot be banned: the demo sends as freely as you ask, unless SEND_POLICY=on shows the policy.
process.env.SEND_POLICY ??= 'off';
// Media sent and received in the demo goes through the simulator's HTTPS media host, in this same process.
trustSimulator(caPem);
const { databaseUrl } = await import('../src/main.ts');

const config = loadConfig();
const port = config.port;
const token = config.adminToken ?? '<your ADMIN_TOKEN>';
console.log(`
Offline demo: the platform is on http://127.0.0.1:${port} (API docs at /docs), WhatsApp is simulated at ${url}.
  Create a device:  curl -X POST http://127.0.0.1:${port}/api/whatsapp/devices -H 'X-Admin-Token: ${token}' \\
                      -H 'content-type: application/json' -d '{"alias":"demo"}'
  Watch it:         curl -N 'http://127.0.0.1:${port}/api/whatsapp/events/stream?token=${token}'
  Simulated phones: ${control} (see README, "WhatsApp network simulator")
`);

if (process.env.DEMO_AUTO_LINK !== 'false') await autoLink();

// Follows the event log from now on; each device showing a QR gets a phone of its own (628000 + device id).
async function autoLink(): Promise<void> {
  const orm = await openOrm(databaseUrl);
  let checkpoint = await headOfFeed(orm.em.fork());
  const timer = setInterval(() => {
    void (async () => {
      for (const event of await readFeed(orm.em.fork(), checkpoint, 100, { types: ['device.qr-issued'] })) {
        checkpoint = checkpointAt(event);
        const number = `628000${String(event.metadata.deviceId).padStart(6, '0')}`;
        sim.createPhone(number);
        try {
          sim.scan(String(event.data.qr), number);
          console.log(`demo: phone +${number} scanned the QR of device ${event.metadata.deviceId}`);
        } catch {
          // That QR already rotated away; the next one is on its way.
        }
      }
    })().catch((err) => console.error('demo auto-link:', err));
  }, 500);
  process.once('SIGTERM', () => clearInterval(timer));
  process.once('SIGINT', () => clearInterval(timer));
}
