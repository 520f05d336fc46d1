import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { listenWsPort } from '../../src/api/ws-port.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';
import { WhatsAppSimulator } from '../../simulator/server.ts';

// Seed 004's "HTML/Browser Example with QR Display", as the seed prints it (fixtures/seed-004-device.html), in a
// real Chromium on a page of its own origin: a cross-origin fetch with X-API-Token (so a CORS preflight), seed 004's
// WebSocket port with ?token=, the QR drawn by the seed's qrcode.min.js, a simulated phone scanning it. Only the
// two addresses are the test's own (its ports are free ones), and the jsdelivr script is answered from the
// davidshimjs-qrcodejs package (the machine is offline).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SEED_API_TOKEN = 'test123';
const PHONE = '6281200000042';

let sim: WhatsAppSimulator;
let platform: TestPlatform;
let wsPort: { port: number; close(): Promise<void> };
let pageServer: Server;
let pageUrl: string;
let browser: Browser;

before(async () => {
  sim = new WhatsAppSimulator();
  const { url } = await sim.listen();
  platform = await startTestPlatform({ WA_WEBSOCKET_URL: url, API_TOKEN: SEED_API_TOKEN, SESSION_SCAN_INTERVAL: '200ms', SESSION_LEASE_TTL: '3s' });
  const apiBase = await platform.app.listen({ port: 0, host: '127.0.0.1' });
  wsPort = await listenWsPort(platform.app, 0, '127.0.0.1');
  const html = readFileSync(new URL('./fixtures/seed-004-device.html', import.meta.url), 'utf8')
    .replace("'http://localhost:3000'", `'${apiBase}'`)
    .replace("'ws://localhost:3001'", `'ws://127.0.0.1:${wsPort.port}'`);
  pageServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html)).listen(0, '127.0.0.1');
  await once(pageServer, 'listening');
  pageUrl = `http://127.0.0.1:${(pageServer.address() as { port: number }).port}/`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  pageServer?.close();
  await wsPort?.close();
  await platform?.close();
  await sim?.close();
});

test("seed 004's HTML example creates a device from another origin, shows its QR from the WebSocket and sees it connect", async () => {
  const page = await browser.newPage();
  const qrcodeJs = readFileSync(createRequire(import.meta.url).resolve('davidshimjs-qrcodejs/qrcode.min.js'));
  await page.route('https://cdn.jsdelivr.net/gh/davidshimjs/qrcodejs@master/qrcode.min.js', (route) =>
    route.fulfill({ status: 200, contentType: 'application/javascript', body: qrcodeJs }),
  );
  const qrs: string[] = [];
  const logs: string[] = [];
  page.on('console', async (message) => {
    logs.push(message.text());
    const [label, data] = message.args();
    if ((await label?.jsonValue()) !== 'WebSocket message:') return;
    const event = (await data?.jsonValue()) as { type?: string; qr?: string };
    if (event.type === 'qr' && event.qr) qrs.push(event.qr);
  });

  await page.goto(pageUrl);
  const status = page.locator('#status');
  try {
    await page.click('button');
    // The page read the answer to a cross-origin POST with X-API-Token: the preflight and the answer allowed it.
    await status.getByText('Device Created!').waitFor();
    await status.getByText('WebSocket connected').waitFor();
    await page.locator('#qrContainer').waitFor({ state: 'visible' });
    // qrcode.js draws a canvas of the size asked for (and an <img> of it).
    assert.equal(await page.locator('#qrcode canvas').getAttribute('width'), '300');
    assert.match(String(await page.locator('#sessionInfo').textContent()), /^Session: user_.+_device_my-phone$/);

    const qr = await until(() => qrs.at(-1), 'a QR over the WebSocket');
    sim.createPhone(PHONE);
    sim.scan(qr, PHONE);
    await status.getByText('Device Connected!').waitFor({ timeout: 60_000 });
    assert.match(await status.innerText(), new RegExp(`Phone: \\+${PHONE}`));
    await page.locator('#qrContainer').waitFor({ state: 'hidden' });
    await status.getByText('WebSocket disconnected').waitFor();
    assert.doesNotMatch(await status.innerText(), /error/i);
  } catch (err) {
    // What the page showed and logged says more than the step that failed.
    throw new Error(`${(err as Error).message}\n--- the page says ---\n${await status.innerText()}\n--- its console ---\n${logs.join('\n')}`);
  } finally {
    await page.close();
  }
});
