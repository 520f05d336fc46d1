import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { after, test } from 'node:test';
import WebSocket from 'ws';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeMedia } from '../helpers/media.ts';
import { until } from '../helpers/wait.ts';
import type { WhatsAppSimulator } from '../../simulator/server.ts';
import {
  API_BASE,
  API_TOKEN,
  DEVICE_API_KEY,
  SEED_API_TOKEN,
  USER_ID,
  curlJson,
  curlJsonEach,
  scanWithPhone,
  sh,
  shell,
  useSeedPlatform,
  waitFor,
  within,
} from './seed-platform.ts';

// Seed 004 ("WhatsApp API Integration Guide"), snippet by snippet, in the seed's words. Its curl commands run
// through bash with `API_BASE`, `API_TOKEN=test123` and `USER_ID=test_user_123` in the environment; its
// JavaScript runs as written against the platform (fetch, the `ws` package, the browser's WebSocket).
// Not here: AI and the admin AI routes (seed-004-ai.e2e.test.ts), the business templates API and the warmer (not built yet),
// and the Python/PHP device snippets (the same requests as the curl and JavaScript ones below, in other languages).
// Its rate-limit handler runs in seed-004-rate-limits.int.test.ts, against a platform with a small budget.
let sim: WhatsAppSimulator;
let base: string;
let wsBase: string;
// A message for a device nobody linked fails soon (8. Resend Failed Message needs one).
useSeedPlatform({ SEND_MAX_WAIT: '3s' }, (seed) => {
  ({ sim, API_BASE: base, WS_BASE: wsBase } = seed);
});
const env = () => ({ API_BASE: base, API_TOKEN: SEED_API_TOKEN, USER_ID: 'test_user_123' });

// The phones of this file: one per linked device, and the seed's own contact, +1234567890.
const BUSINESS_PHONE = '6281100000001';
const CONTACT = '1234567890';
// Seed 004's examples write the session of device 1 as `user_123_device_my-business-phone` (user "123"); the one its
// own create snippet makes for USER_ID=test_user_123 is this, and a user pastes theirs in.
const SESSION_ID = 'user_test_user_123_device_my-business-phone';
const withSession = (snippet: string) => snippet.replaceAll('user_123_device_my-business-phone', SESSION_ID);

let deviceApiKey: string;
let sentMessageId: string;
let pythonMessageId: string;

// GET with the seed's header, for the waits between snippets (what a user would look at before the next step).
const api = async (path: string, init: RequestInit = {}): Promise<any> =>
  (await fetch(`${base}${path}`, { ...init, headers: { 'X-API-Token': SEED_API_TOKEN, 'Content-Type': 'application/json', ...init.headers } })).json();

test('seed 004 › Quick Start › Test Connection (curl)', async () => {
  const answer = await curlJson(
    sh`# Test if API is accessible
curl -X GET "${API_BASE}/api/whatsapp/server/stats" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  for (const field of ['activeSessions', 'totalDevices', 'totalMessages', 'uptime', 'memory', 'cpu']) {
    assert.equal(typeof answer.data[field], 'number', `data.${field}: ${JSON.stringify(answer.data)}`);
  }
});

test('seed 004 › Device Management › 1. Create a New Device › Step 1: Create Device (curl)', async () => {
  const answer = await curlJson(
    sh`curl -X POST "${API_BASE}/api/whatsapp/devices" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "userId": "'${USER_ID}'",
    "alias": "my-business-phone"
  }'`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.equal(answer.device.id, 1);
  assert.equal(answer.device.userId, 'test_user_123');
  assert.equal(answer.device.alias, 'my-business-phone');
  assert.equal(answer.device.sessionId, SESSION_ID);
  assert.equal(answer.device.status, 'pending');
  assert.match(answer.device.apiKey, /^dev_/);
  if ('qr' in answer) assert.equal(typeof answer.qr, 'string');
  assert.equal(typeof answer.message, 'string');
  deviceApiKey = answer.device.apiKey;
});

test('seed 004 › Authentication › Standard Authentication (curl)', async () => {
  const answer = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/users/${USER_ID}/devices" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.deepEqual(answer.data.map((d: { sessionId: string }) => d.sessionId), [SESSION_ID]);
});

test('seed 004 › Device Management › 1. Create a New Device › Step 2: Connect to WebSocket (JavaScript/Node.js)', { timeout: 90_000 }, async () => {
  const phone = '6281100000002';
  const log: string[] = [];
  let scanned = false;
  // The snippet's displayQRCode renders the QR for the user, whose phone scans it.
  const displayQRCode = (qrData: string) => {
    if (scanned) return;
    scanned = true;
    scanWithPhone(sim, qrData, phone);
  };
  let closed!: () => void;
  const done = new Promise<void>((resolve) => (closed = resolve));

  // Configuration (the seed's, with this platform's ports)
  const API_BASE = base;
  const WS_BASE = wsBase;
  const API_TOKEN = 'test123';
  const USER_ID = 'your_user_id';

  async function createDeviceAndShowQR() {
    // Step 1: Create device
    const response = await fetch(`${API_BASE}/api/whatsapp/devices`, {
      method: 'POST',
      headers: {
        'X-API-Token': API_TOKEN,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({
        userId: USER_ID,
        alias: 'my-business-phone',
      }),
    });

    const data: any = await response.json();
    log.push(`Device created: ${JSON.stringify(data.device)}`);
    assert.equal(data.device.sessionId, 'user_your_user_id_device_my-business-phone', JSON.stringify(data));

    // Step 2: Connect to WebSocket
    const ws = new WebSocket(`${WS_BASE}?token=${API_TOKEN}`);

    ws.on('open', () => {
      // Subscribe to the specific session for QR codes
      ws.send(JSON.stringify({ type: 'subscribe', sessionId: data.device.sessionId }));
    });

    ws.on('message', (message) => {
      const event = JSON.parse(message.toString());
      log.push(`Event received: ${event.type}`);

      // Handle QR code
      if (event.type === 'qr' && event.sessionId === data.device.sessionId) {
        displayQRCode(event.qr);
      }

      // Handle connection success
      if (event.type === 'connection' && event.status === 'connected') {
        log.push(`Phone number: ${event.phoneNumber}`);
        ws.close();
      }

      // Handle session updates
      if (event.type === 'session_update') {
        log.push(`Session status: ${event.status}`);
      }
    });

    ws.on('error', (error) => log.push(`WebSocket error: ${error.message}`));
    ws.on('close', () => closed());

    // If QR is immediately available, display it
    if (data.qr) displayQRCode(data.qr);
  }

  await createDeviceAndShowQR();
  await within(done, `the connection, then the socket closed (${log.join(' | ')})`);
  assert.ok(scanned, `a QR was shown: ${log.join(' | ')}`);
  assert.ok(log.includes(`Phone number: +${phone}`), log.join(' | '));
});

test('seed 004 › Device Management › 1. Create a New Device › HTML/Browser Example with QR Display', { timeout: 90_000 }, async () => {
  // The page loads QRCode.js from a CDN to draw the QR; here the phone scans the string it would draw. The page's
  // WebSocket is the browser's (Node's global WebSocket is the same API).
  const phone = '6281100000003';
  const status: string[] = [];
  let shown = false;
  const displayQR = (qrData: string, sessionId: string) => {
    status.push(`QR for ${sessionId}`);
    if (shown) return;
    shown = true;
    scanWithPhone(sim, qrData, phone);
  };
  let disconnected!: () => void;
  const done = new Promise<void>((resolve) => (disconnected = resolve));

  const WebSocket = globalThis.WebSocket;
  const API_BASE = base;
  const WS_BASE = wsBase;
  const API_TOKEN = 'test123';
  let ws: globalThis.WebSocket | null = null;
  let currentSessionId: string | null = null;

  async function createDevice(userId: string, alias: string) {
    // Step 1: Create device
    const response = await fetch(`${API_BASE}/api/whatsapp/devices`, {
      method: 'POST',
      headers: { 'X-API-Token': API_TOKEN, 'Content-Type': 'application/json' },
      body: JSON.stringify({ userId, alias }),
    });

    const data: any = await response.json();

    if (!response.ok) {
      throw new Error(data.error || 'Failed to create device');
    }

    currentSessionId = data.device.sessionId;
    status.push(`Session ID: ${data.device.sessionId}`);
    status.push(`Device ID: ${data.device.id}`);
    status.push(`API Key: ${data.device.apiKey.substring(0, 20)}...`);
    status.push(`Status: ${data.device.status}`);

    // Step 2: Connect to WebSocket
    connectWebSocket(data.device.sessionId);

    // Step 3: Show immediate QR if available
    if (data.qr) {
      displayQR(data.qr, data.device.sessionId);
    } else {
      status.push('Waiting for QR code from WebSocket...');
    }
  }

  function connectWebSocket(sessionId: string) {
    ws = new WebSocket(`${WS_BASE}?token=${API_TOKEN}`);

    ws.onopen = () => {
      status.push('WebSocket connected');
      ws!.send(JSON.stringify({ type: 'subscribe', sessionId: sessionId }));
    };

    ws.onmessage = (event) => {
      const data = JSON.parse(event.data);

      // Only handle messages for our session
      if (data.sessionId === currentSessionId) {
        if (data.type === 'qr' && data.qr) {
          displayQR(data.qr, data.sessionId);
        }

        if (data.type === 'connection' && data.status === 'connected') {
          status.push('Device Connected!');
          status.push(`Phone: ${data.phoneNumber}`);
          ws!.close();
        }

        if (data.type === 'session_update') {
          status.push(`Status update: ${data.status}`);
        }
      }
    };

    ws.onerror = () => status.push('WebSocket error occurred');
    ws.onclose = () => {
      status.push('WebSocket disconnected');
      disconnected();
    };
  }

  // The page's inputs: value="test_user_123" and value="my-phone".
  await createDevice('test_user_123', 'my-phone');
  await within(done, `the connection, then the socket closed (${status.join(' | ')})`);
  assert.equal(status[0], 'Session ID: user_test_user_123_device_my-phone');
  assert.match(status[1]!, /^Device ID: \d+$/);
  assert.match(status[2]!, /^API Key: dev_.{16}\.\.\.$/);
  assert.equal(status[3], 'Status: pending');
  assert.ok(status.includes('WebSocket connected'), status.join(' | '));
  assert.ok(status.includes('QR for user_test_user_123_device_my-phone'), status.join(' | '));
  assert.ok(status.includes(`Phone: +${phone}`), status.join(' | '));
  assert.equal(status.at(-1), 'WebSocket disconnected');
});

test('seed 004 › Device Management › 2. Get QR Code (Alternative Method) (curl)', { timeout: 60_000 }, async () => {
  const getQr = sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/qr" \
  -H "X-API-Token: ${API_TOKEN}"`;
  const answer = await until(async () => {
    const a = await curlJson(getQr, env());
    return a.success ? a : undefined;
  }, 'a QR for device 1');
  assert.equal(answer.success, true);
  assert.match(answer.qrCode, /^data:image\/png;base64,/);
  assert.equal(answer.status, 'pending');

  // The user shows the image to the phone; the simulator's phone takes the QR's text (beside the image).
  scanWithPhone(sim, answer.qr, BUSINESS_PHONE);
  await until(async () => ((await api('/api/whatsapp/devices/1')).data.status === 'connected' ? true : undefined), 'device 1 connected');

  const connected = await curlJson(getQr, env());
  assert.deepEqual([connected.success, connected.error], [false, 'Device is already connected or QR code not available']);
});

test("seed 004 › Device Management › 3. List User's Devices (curl)", async () => {
  const answer = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/users/${USER_ID}/devices" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true);
  const device = answer.data.find((d: { id: number }) => d.id === 1);
  assert.equal(device.alias, 'my-business-phone');
  assert.equal(device.sessionId, SESSION_ID);
  assert.equal(device.status, 'connected');
  assert.equal(device.phoneNumber, `+${BUSINESS_PHONE}`);
  assert.ok(!Number.isNaN(Date.parse(device.connectedAt)), device.connectedAt);
});

test('seed 004 › Device Management › 4. Get Device Details (curl)', async () => {
  const answer = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true);
  assert.deepEqual([answer.data.id, answer.data.sessionId, answer.data.status], [1, SESSION_ID, 'connected']);
});

test('seed 004 › Device Management › 5. Update Device (curl)', async () => {
  const answer = await curlJson(
    sh`curl -X PUT "${API_BASE}/api/whatsapp/devices/1" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "alias": "updated-alias",
    "metadata": {
      "department": "sales",
      "location": "NYC"
    }
  }'`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.equal(answer.data.alias, 'updated-alias');
  assert.deepEqual(answer.data.metadata, { department: 'sales', location: 'NYC' });
});

test('seed 004 › Message Sending › 1. Send Text Message (curl)', { timeout: 60_000 }, async () => {
  sim.createPhone(CONTACT);
  sim.setReceipts(CONTACT, { policy: 'delivered', delayMs: 0 });
  const answer = await curlJson(
    withSession(sh`curl -X POST "${API_BASE}/api/whatsapp/send" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "sessionId": "user_123_device_my-business-phone",
    "phoneNumber": "+1234567890",
    "message": "Hello! This is a test message."
  }'`),
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.match(answer.data.messageId, /^msg_/);
  // The seed shows "sent"; a send is accepted before WhatsApp has it, so without asking to wait it may be "queued".
  assert.ok(['queued', 'sent'].includes(answer.data.status), answer.data.status);
  assert.ok(!Number.isNaN(Date.parse(answer.data.timestamp)));
  sentMessageId = answer.data.messageId;
  await until(() => (sim.inbox(CONTACT).some((m) => m.text === 'Hello! This is a test message.') ? true : undefined), 'the text on the phone');
});

// Seed 004's media snippets upload `/path/to/image.jpg` and friends: here, real files of those names' kinds.
let mediaDir: string;
const mediaPath = async (name: string, data: Buffer | Promise<Buffer>) => {
  mediaDir ??= await mkdtemp(join(tmpdir(), 'seed-004-media-'));
  const path = join(mediaDir, name);
  await writeFile(path, await data);
  return path;
};
after(() => (mediaDir ? rm(mediaDir, { recursive: true, force: true }) : undefined));
const fileIds: Record<string, string> = {};
const withFiles = (snippet: string) => withSession(Object.entries(fileIds).reduce((text, [example, id]) => text.replaceAll(`"${example}"`, `"${id}"`), snippet));
// The file a snippet names by the seed's example id (`file_video123`), uploaded as the snippet before it shows.
async function uploadAs(example: string, name: string, data: Buffer | Promise<Buffer>): Promise<void> {
  const upload = await curlJson(`curl -s -X POST "$API_BASE/api/whatsapp/files/upload" -H "X-API-Token: $API_TOKEN" -F "file=@${await mediaPath(name, data)}" -F "userId=$USER_ID"`, env());
  fileIds[example] = upload.data.fileId;
}
const mediaAt = (number: string, count: number) => until(() => (sim.inbox(number).filter((m) => m.media?.verified).length >= count ? sim.inbox(number).filter((m) => m.media) : undefined), `${count} media at ${number}`, 60_000);

test('seed 004 › Message Sending › 2. Send Image (curl: upload, then send)', { timeout: 60_000 }, async () => {
  const upload = await curlJson(
    sh`curl -X POST "${API_BASE}/api/whatsapp/files/upload" \
  -H "X-API-Token: ${API_TOKEN}" \
  -F "file=@/path/to/image.jpg" \
  -F "userId=${USER_ID}" \
  -F "description=Product image"`.replace('/path/to/image.jpg', await mediaPath('image.jpg', makeMedia.jpeg())),
    env(),
  );
  assert.equal(upload.success, true, JSON.stringify(upload));
  assert.deepEqual([upload.data.filename, upload.data.mimetype, upload.data.url], ['image.jpg', 'image/jpeg', `/api/whatsapp/files/${upload.data.fileId}`]);
  fileIds.file_abc123 = upload.data.fileId;
  const before = sim.inbox(CONTACT).filter((m) => m.media).length;
  const sent = await curlJson(
    withFiles(sh`curl -X POST "${API_BASE}/api/whatsapp/send/image" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "sessionId": "user_123_device_my-business-phone",
    "phoneNumber": "+1234567890",
    "fileId": "file_abc123",
    "caption": "Check out our new product!"
  }'`),
    env(),
  );
  assert.equal(sent.success, true, JSON.stringify(sent));
  const arrived = (await mediaAt(CONTACT, before + 1)).at(-1)!;
  assert.deepEqual([arrived.media!.kind, arrived.media!.caption], ['image', 'Check out our new product!']);
});

test('seed 004 › Message Sending › 3. Send Video and 4. Send Document (curl)', { timeout: 120_000 }, async () => {
  await uploadAs('file_video123', 'video.mp4', makeMedia.mp4());
  await uploadAs('file_doc123', 'document.pdf', makeMedia.pdf('seed'));
  const before = sim.inbox(CONTACT).filter((m) => m.media).length;
  const answers = await curlJsonEach(
    [
      sh`curl -X POST "${API_BASE}/api/whatsapp/send/video" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "sessionId": "user_123_device_my-business-phone",
    "phoneNumber": "+1234567890",
    "fileId": "file_video123",
    "caption": "Tutorial video"
  }'`,
      sh`curl -X POST "${API_BASE}/api/whatsapp/send/document" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "sessionId": "user_123_device_my-business-phone",
    "phoneNumber": "+1234567890",
    "fileId": "file_doc123",
    "filename": "invoice.pdf",
    "caption": "Your invoice"
  }'`,
    ].map(withFiles),
    env(),
  );
  for (const answer of answers) assert.equal(answer.success, true, JSON.stringify(answer));
  const arrived = (await mediaAt(CONTACT, before + 2)).slice(-2);
  assert.deepEqual(arrived.map((m) => [m.media!.kind, m.media!.caption ?? null, m.media!.fileName ?? null]), [
    ['video', 'Tutorial video', null],
    ['document', 'Your invoice', 'invoice.pdf'],
  ]);
});

test('seed 004 › Message Sending › 5. Bulk Send Messages and 6. Send Mixed Media (curl)', { timeout: 120_000 }, async () => {
  await uploadAs('file_img1', 'p1.jpg', makeMedia.jpeg('#101010'));
  await uploadAs('file_img2', 'p2.jpg', makeMedia.jpeg('#202020'));
  await uploadAs('file_doc1', 'catalog.pdf', makeMedia.pdf('catalog'));
  const before = sim.inbox(CONTACT).filter((m) => m.media).length;
  const bulk = await curlJson(
    withFiles(sh`curl -X POST "${API_BASE}/api/whatsapp/send/bulk" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "sessionId": "user_123_device_my-business-phone",
    "recipients": [
      {
        "phoneNumber": "+1234567890",
        "fileId": "file_abc123",
        "caption": "Hello John!"
      },
      {
        "phoneNumber": "+0987654321",
        "fileId": "file_abc123",
        "caption": "Hello Jane!"
      }
    ]
  }'`),
    env(),
  );
  assert.equal(bulk.success, true, JSON.stringify(bulk));
  // The seed's second number cannot exist (no country code starts with 0): that row is refused, the other sent.
  assert.deepEqual([bulk.data.accepted, bulk.data.rejected], [1, [{ index: 1, phoneNumber: '+0987654321', error: 'INVALID_PHONE_NUMBER' }]]);
  assert.equal((await mediaAt(CONTACT, before + 1)).at(-1)!.media!.caption, 'Hello John!');

  const mixed = await curlJson(
    withFiles(sh`curl -X POST "${API_BASE}/api/whatsapp/send/mixed" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "sessionId": "user_123_device_my-business-phone",
    "phoneNumber": "+1234567890",
    "files": [
      {
        "fileId": "file_img1",
        "type": "image",
        "caption": "Product 1"
      },
      {
        "fileId": "file_img2",
        "type": "image",
        "caption": "Product 2"
      },
      {
        "fileId": "file_doc1",
        "type": "document",
        "caption": "Catalog PDF"
      }
    ]
  }'`),
    env(),
  );
  assert.equal(mixed.success, true, JSON.stringify(mixed));
  const album = (await mediaAt(CONTACT, before + 4)).slice(-3);
  assert.deepEqual(album.map((m) => m.media!.caption), ['Product 1', 'Product 2', 'Catalog PDF']);
});

test('seed 004 › File Management › 1–6 (curl): upload with tags, details, stats and lists, download, preview link, delete, bulk delete', { timeout: 60_000 }, async () => {
  const upload = await curlJson(
    sh`curl -X POST "${API_BASE}/api/whatsapp/files/upload" \
  -H "X-API-Token: ${API_TOKEN}" \
  -F "file=@/path/to/file.jpg" \
  -F "userId=${USER_ID}" \
  -F "description=Product image" \
  -F "tags=product,catalog,new"`.replace('/path/to/file.jpg', await mediaPath('file.jpg', makeMedia.jpeg('#445566'))),
    env(),
  );
  assert.deepEqual(upload.data.tags, ['product', 'catalog', 'new']);
  const id = upload.data.fileId;
  const mine = (snippet: string) => snippet.replaceAll('file_abc123', id);
  const [details, stats, images] = await curlJsonEach(
    [
      mine(sh`curl -X GET "${API_BASE}/api/whatsapp/files/file_abc123" \
  -H "X-API-Token: ${API_TOKEN}"`),
      sh`curl -X GET "${API_BASE}/api/whatsapp/files/users/${USER_ID}/stats" \
  -H "X-API-Token: ${API_TOKEN}"`,
      sh`curl -X GET "${API_BASE}/api/whatsapp/files/users/${USER_ID}/image" \
  -H "X-API-Token: ${API_TOKEN}"`,
    ],
    env(),
  );
  assert.equal(details.data.description, 'Product image');
  assert.ok(stats.data.byType.image.count >= 1);
  assert.ok(images.data.items.some((f: { fileId: string }) => f.fileId === id));
  // "Preview (no auth required)": through the signed link the details carry; the bare id opens nothing.
  const preview = await fetch(`${base}${details.data.previewUrl}`);
  assert.equal(preview.headers.get('content-type'), 'image/jpeg');
  const downloaded = join(mediaDir, 'downloaded_file.jpg');
  await shell(
    `cd ${mediaDir} && ` +
      mine(sh`curl "${API_BASE}/api/whatsapp/files/file_abc123/download" \
  -H "X-API-Token: ${API_TOKEN}" \
  -o downloaded_file.jpg`),
    env(),
  );
  assert.deepEqual(await readFile(downloaded), await readFile(join(mediaDir, 'file.jpg')));
  const deleted = await curlJson(mine(sh`curl -X DELETE "${API_BASE}/api/whatsapp/files/file_abc123" \
  -H "X-API-Token: ${API_TOKEN}"`), env());
  assert.deepEqual(deleted.data.deleted, [id]);
  const others = [fileIds.file_img1!, fileIds.file_img2!, fileIds.file_doc1!];
  const bulk = await curlJson(
    sh`curl -X DELETE "${API_BASE}/api/whatsapp/files/bulk" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "fileIds": ["file_abc123", "file_def456", "file_ghi789"]
  }'`.replace('"file_abc123", "file_def456", "file_ghi789"', others.map((o) => `"${o}"`).join(', ')),
    env(),
  );
  assert.deepEqual(bulk.data.deleted, others);
});

test('seed 004 › Message Sending › 7. Get Message Status (curl)', { timeout: 60_000 }, async () => {
  const snippet = sh`curl -X GET "${API_BASE}/api/whatsapp/messages/msg_abc123/status" \
  -H "X-API-Token: ${API_TOKEN}"`.replace('msg_abc123', sentMessageId);
  const answer = await until(async () => {
    const a = await curlJson(snippet, env());
    return a.data?.status === 'delivered' ? a : undefined;
  }, 'delivered');
  assert.equal(answer.success, true);
  assert.equal(answer.data.messageId, sentMessageId);
  assert.equal(answer.data.status, 'delivered');
  assert.ok(answer.data.sentAt <= answer.data.deliveredAt, JSON.stringify(answer.data));
  assert.equal(answer.data.readAt, null);
});

test('seed 004 › Message Sending › 9. Get Messages History (curl)', { timeout: 60_000 }, async () => {
  // A message that stays "sent" (a phone that sends no receipts), for the logs filtered by status=sent.
  const silent = sim.createPhone('6281100000099');
  sim.setReceipts(silent.number, { policy: 'none', delayMs: 0 });
  const queued = await api('/api/whatsapp/send', { method: 'POST', body: JSON.stringify({ sessionId: SESSION_ID, phoneNumber: silent.number, message: 'stays sent' }) });
  await until(async () => ((await api(`/api/whatsapp/messages/${queued.data.messageId}/status`)).data.status === 'sent' ? true : undefined), 'sent');

  const [history, logs] = await curlJsonEach(
    [
      sh`# Get all messages for a device and contact
curl -X GET "${API_BASE}/api/whatsapp/devices/1/messages/1234567890@s.whatsapp.net" \
  -H "X-API-Token: ${API_TOKEN}"`,
      sh`# Get user's message logs with filters
curl -X GET "${API_BASE}/api/whatsapp/users/${USER_ID}/message-logs?limit=50&status=sent" \
  -H "X-API-Token: ${API_TOKEN}"`,
    ],
    env(),
  );
  assert.equal(history.success, true, JSON.stringify(history));
  assert.ok(history.data.items.some((m: { messageId: string }) => m.messageId === sentMessageId), JSON.stringify(history.data));
  assert.equal(logs.success, true, JSON.stringify(logs));
  assert.ok(logs.data.items.some((m: { messageId: string }) => m.messageId === queued.data.messageId), JSON.stringify(logs.data));
  assert.ok(logs.data.items.every((m: { status: string }) => m.status === 'sent'));
});

test('seed 004 › Message Sending › 10. Get Sending Statistics (curl)', async () => {
  const answer = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/users/${USER_ID}/sending-stats" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  const { data } = answer;
  assert.ok(data.totalSent >= 2, JSON.stringify(data));
  assert.equal(data.totalFailed, 0);
  assert.equal(data.successRate, 100);
  assert.ok(data.today.sent >= 2 && data.today.failed === 0, JSON.stringify(data.today));
  assert.ok(data.thisWeek.sent >= 2 && data.thisWeek.failed === 0, JSON.stringify(data.thisWeek));
  for (const status of ['sent', 'delivered', 'read', 'failed']) assert.equal(typeof data.byStatus[status], 'number', `byStatus.${status}`);
  assert.ok(data.byStatus.delivered >= 1);
});

test('seed 004 › Authentication › Device-Specific Authentication (curl)', { timeout: 60_000 }, async () => {
  const answer = await curlJson(
    sh`curl -X POST "${API_BASE}/api/whatsapp/device/send" \
  -H "X-Device-API-Key: ${DEVICE_API_KEY}" \
  -H "Content-Type: application/json" \
  -d '{
    "phoneNumber": "+1234567890",
    "message": "Hello!"
  }'`,
    { ...env(), DEVICE_API_KEY: deviceApiKey },
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.match(answer.data.messageId, /^msg_/);
  await until(() => (sim.inbox(CONTACT).some((m) => m.text === 'Hello!') ? true : undefined), 'the device-key text on the phone');
});

test('seed 004 › Contact & Chat Management › 1. Get Device Contacts (curl)', { timeout: 60_000 }, async () => {
  // John writes, and is in the business phone's address book as "John Doe" (the seed's example contact).
  const john = sim.phones.get(CONTACT)!;
  john.pushName = 'John';
  sim.sendFromPhone(CONTACT, BUSINESS_PHONE, 'Hi, this is John');
  await sim.appState.setAddressBook(sim.phones.get(BUSINESS_PHONE)!, [{ number: CONTACT, name: 'John Doe' }]);
  const snippet = sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/contacts" \
  -H "X-API-Token: ${API_TOKEN}"`;
  const answer = await until(async () => {
    const a = await curlJson(snippet, env());
    return a.contacts?.some((c: { contactName: string; whatsappName: string }) => c.contactName === 'John Doe' && c.whatsappName === 'John') ? a : undefined;
  }, 'John Doe in the contacts (top-level `contacts`)');
  assert.equal(answer.success, true);
  const john0 = answer.contacts.find((c: { jid: string }) => c.jid === '1234567890@s.whatsapp.net');
  assert.deepEqual(
    [john0.jid, john0.phoneNumber, john0.contactName, john0.whatsappName, john0.source],
    ['1234567890@s.whatsapp.net', '+1234567890', 'John Doe', 'John', 'contact'],
  );
});

test('seed 004 › Contact & Chat Management › 2. Get Device Chats (curl)', async () => {
  const answer = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/chats" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.ok(answer.data.some((c: { chatJid: string }) => c.chatJid === '1234567890@s.whatsapp.net'), JSON.stringify(answer.data));
});

let groupJid: string;
test('seed 004 › Contact & Chat Management › 3. Get Device Groups (curl)', { timeout: 60_000 }, async () => {
  groupJid = sim.createGroup('Family Group', [BUSINESS_PHONE, CONTACT]).jid;
  const answer = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/groups" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  const group = answer.data.find((g: { jid: string }) => g.jid === groupJid);
  assert.equal(group.name, 'Family Group');
});

test("seed 004 › Contact & Chat Management › 4. Get User's All Contacts (curl)", async () => {
  const answer = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/users/${USER_ID}/contacts" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.ok(answer.contacts.some((c: { jid: string }) => c.jid === '1234567890@s.whatsapp.net'), JSON.stringify(answer));
});

test('seed 004 › Contact & Chat Management › 5. Sync WhatsApp Data (curl)', { timeout: 60_000 }, async () => {
  const answer = await curlJson(
    sh`curl -X POST "${API_BASE}/api/whatsapp/devices/1/sync" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "includeContacts": true,
    "includeChats": true,
    "includeGroups": true
  }'`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
});

test('seed 004 › Contact & Chat Management › 6. Get Contacts from Baileys Store (curl)', async () => {
  const answer = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/contacts/baileys-store" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.ok(answer.data.contacts.some((c: { id: string }) => c.id === '1234567890@s.whatsapp.net'), JSON.stringify(answer.data));
});

test('seed 004 › Contact & Chat Management › 7. Get Profile Picture (curl)', { timeout: 60_000 }, async () => {
  const answer = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/profile/1234567890@s.whatsapp.net" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
});

test('seed 004 › Contact & Chat Management › 8. Get Presence Status (curl)', { timeout: 60_000 }, async () => {
  const answer = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/presence/1234567890@s.whatsapp.net" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.equal(answer.data.jid, '1234567890@s.whatsapp.net');
  assert.equal(typeof answer.data.presence, 'string');
  assert.ok(answer.data.lastSeen === null || !Number.isNaN(Date.parse(answer.data.lastSeen)), JSON.stringify(answer.data));
});

test('seed 004 › Contact & Chat Management › 9. Get Business Profile (curl)', { timeout: 60_000 }, async () => {
  const answer = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/business/1234567890@s.whatsapp.net" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
});

test('seed 004 › Contact & Chat Management › 10. Get Group Members (curl)', { timeout: 60_000 }, async () => {
  // The seed's `123456@g.us` stands for a group of yours: the one made above.
  const answer = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/groups/123456@g.us/members" \
  -H "X-API-Token: ${API_TOKEN}"`.replace('123456@g.us', groupJid),
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.ok(answer.data.some((m: { jid: string }) => m.jid === '1234567890@s.whatsapp.net'), JSON.stringify(answer.data));
});

test('seed 004 › WebSocket Events › Complete WebSocket Flow Example', { timeout: 60_000 }, async () => {
  const handled: { from: string; body: string }[] = [];
  const handleIncomingMessage = (message: { from: string; body: string }) => handled.push(message);
  const log: string[] = [];

  const ws = new WebSocket(`${wsBase}?token=test123`);

  ws.on('open', () => {
    log.push('WebSocket connected');
    // Subscribe to session (the seed's 'user_123_device_my-business-phone': device 1's)
    ws.send(JSON.stringify({
      type: 'subscribe',
      sessionId: SESSION_ID,
    }));
  });
  // Not the snippet's: the answer to `subscribe`, after which the session's events flow.
  ws.on('message', (data) => JSON.parse(data.toString()).type === 'subscribed' && log.push('subscribed'));

  ws.on('message', (data) => {
    const event = JSON.parse(data.toString());

    switch (event.type) {
      case 'qr':
        log.push('QR Code received - display to user');
        break;
      case 'connection':
        if (event.status === 'connected') {
          log.push(`Connected! Phone: ${event.phoneNumber}`);
          ws.close();
        }
        break;
      case 'session_update':
        log.push(`Status: ${event.status}`);
        break;
      case 'message':
        log.push(`New message from ${event.message.from}`);
        handleIncomingMessage(event.message);
        break;
    }
  });
  ws.on('error', (error) => log.push(`WebSocket error: ${error.message}`));

  await until(() => (log.includes('subscribed') ? true : undefined), 'subscribed');
  sim.sendFromPhone(CONTACT, BUSINESS_PHONE, 'Hello over the WebSocket!');
  const message = await waitFor(handled, (m) => m.body === 'Hello over the WebSocket!', 'the message event');
  assert.equal(message.from, '1234567890@s.whatsapp.net');
  assert.ok(log.includes('New message from 1234567890@s.whatsapp.net'), log.join(' | '));
  ws.close();
});

test('seed 004 › Best Practices › 4. WebSocket for Real-Time Updates', { timeout: 90_000 }, async () => {
  // The snippet's SESSION_ID: a device about to be created (test_user_123's "best-practices").
  const SESSION_ID = 'user_test_user_123_device_best-practices';
  const phone = '6281100000004';
  const seen: { type: string; data?: Record<string, unknown> }[] = [];

  const ws = new WebSocket(`ws://${new URL(wsBase).host}?token=${SEED_API_TOKEN}`);

  ws.on('open', () => {
    // Subscribe to specific session events
    ws.send(JSON.stringify({ type: 'subscribe', sessionId: SESSION_ID }));
  });

  ws.on('message', (data) => {
    const event = JSON.parse(String(data));

    switch (event.type) {
      case 'qr_code':
        seen.push({ type: 'qr_code', data: { qrCode: event.data.qrCode } });
        break;
      case 'device_connected':
        seen.push({ type: 'device_connected' });
        break;
      case 'message_received':
        seen.push({ type: 'message_received', data: event.data });
        break;
    }
  });
  // Not the snippet's: the answer to `subscribe`, after which the session's events flow.
  let subscribed = false;
  ws.on('message', (data) => (subscribed ||= JSON.parse(String(data)).type === 'subscribed'));
  await until(() => subscribed || undefined, 'subscribed');

  const created = await api('/api/whatsapp/devices', { method: 'POST', body: JSON.stringify({ userId: 'test_user_123', alias: 'best-practices' }) });
  assert.equal(created.device?.sessionId, SESSION_ID, JSON.stringify(created));
  const qrCode = await waitFor(seen, (e) => e.type === 'qr_code', '`qr_code` with data.qrCode');
  assert.equal(typeof qrCode.data!.qrCode, 'string');
  assert.ok(String(qrCode.data!.qrCode).length > 0);
  // The phone scans the QR the user displayed (its text, from GET …/qr).
  const qr = await until(async () => (await api(`/api/whatsapp/devices/${created.device.id}/qr`)).qr, 'the QR text');
  scanWithPhone(sim, qr, phone);
  await waitFor(seen, (e) => e.type === 'device_connected', '`device_connected`');

  sim.sendFromPhone(CONTACT, phone, 'Hello, best practices');
  const received = await waitFor(seen, (e) => e.type === 'message_received', '`message_received` with data');
  assert.equal(typeof received.data, 'object');
  assert.ok(JSON.stringify(received.data).includes('Hello, best practices'), JSON.stringify(received.data));
  ws.close();
});

// Seed 004's webhook receivers: the Express handlers of "Validating Webhook Signatures" and of "Express.js
// Integration", on one HTTP server (express.json() is JSON.parse of the body).
interface Delivery {
  headers: Record<string, string | string[] | undefined>;
  body: any;
}
const deliveries: Delivery[] = [];
after(() => {
  if (!receiver.listening) return;
  receiver.closeAllConnections();
  receiver.close();
});
const integrationLog: string[] = [];
let receiverUrl: string;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    deliveries.push({ headers: req.headers, body });
    // Express.js Integration: app.post('/webhook/whatsapp', …)
    const event = body;
    switch (event.type) {
      case 'message':
        integrationLog.push(`New message from: ${event.data.fromNumber}`);
        break;
      case 'connection':
        integrationLog.push(`Connection status: ${event.data.status}`);
        break;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success: true }));
  });
});

test('seed 004 › Webhooks › 1. Get Webhook Settings (curl)', async () => {
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/webhook/whatsapp`;
  const answer = await curlJson(
    sh`curl -X GET "${API_BASE}/api/whatsapp/devices/1/settings/webhook" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
});

test('seed 004 › Webhooks › 2. Update Webhook Settings (curl)', async () => {
  // The seed's https://your-server.com/webhook is the user's own server: here, the receiver above.
  const answer = await curlJson(
    sh`curl -X PUT "${API_BASE}/api/whatsapp/devices/1/settings/webhook" \
  -H "X-API-Token: ${API_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "webhookUrl": "https://your-server.com/webhook",
    "enabled": true,
    "events": ["message", "connection", "qr", "status"],
    "secret": "your-webhook-secret",
    "retryOnFailure": true,
    "maxRetries": 3
  }'`.replace('https://your-server.com/webhook', receiverUrl),
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
});

test('seed 004 › Webhooks › Webhook Event Payloads › Message Event', { timeout: 60_000 }, async () => {
  sim.sendFromPhone(CONTACT, BUSINESS_PHONE, 'Hello!');
  const { body } = await waitFor(deliveries, (d) => d.body.event === 'message' && d.body.data?.message === 'Hello!', 'the message webhook');
  assert.equal(body.event, 'message');
  assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
  assert.equal(body.deviceId, '1');
  assert.equal(body.sessionId, SESSION_ID);
  assert.equal(typeof body.data.messageId, 'string');
  assert.equal(body.data.from, '1234567890@s.whatsapp.net');
  assert.equal(body.data.fromNumber, '+1234567890');
  assert.equal(body.data.message, 'Hello!');
  assert.equal(body.data.type, 'text');
  assert.equal(typeof body.data.timestamp, 'number');
  assert.ok(body.data.timestamp > 1e12, 'milliseconds');
});

test('seed 004 › Webhooks › Validating Webhook Signatures', async () => {
  function validateWebhook(payload: unknown, signature: string, secret: string) {
    const hash = createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex');
    return hash === signature;
  }
  const WEBHOOK_SECRET = 'your-webhook-secret';
  assert.ok(deliveries.length > 0);
  for (const req of deliveries) {
    const signature = req.headers['x-webhook-signature'] as string;
    const isValid = validateWebhook(req.body, signature, WEBHOOK_SECRET);
    assert.ok(isValid, `${req.body.event}: ${signature}`);
  }
});

test('seed 004 › Complete Integration Examples › Express.js Integration (webhook endpoint)', () => {
  assert.ok(integrationLog.includes('New message from: +1234567890'), `the handler's log: ${integrationLog.join(' | ')}`);
});

test('seed 004 › Error Handling › Error Handling Example', async () => {
  const errors: string[] = [];
  const API_BASE = base;
  const API_TOKEN = SEED_API_TOKEN;
  async function sendMessage(sessionId: string, phoneNumber: string, message: string) {
    const response = await fetch(`${API_BASE}/api/whatsapp/send`, {
      method: 'POST',
      headers: { 'X-API-Token': API_TOKEN, 'Content-Type': 'application/json' },
      body: JSON.stringify({ sessionId, phoneNumber, message }),
    });
    const data: any = await response.json();
    if (!response.ok) {
      switch (data.code) {
        case 'DEVICE_NOT_CONNECTED':
          errors.push('Device is not connected. Please scan QR code.');
          break;
        case 'INVALID_PHONE_NUMBER':
          errors.push(`Invalid phone number format: ${phoneNumber}`);
          break;
        default:
          errors.push(`Error sending message: ${data.error}`);
      }
      return { success: false, error: data };
    }
    return { success: true, data };
  }
  const invalid = await sendMessage(SESSION_ID, '12-34', 'Hello!');
  assert.equal(invalid.success, false);
  assert.deepEqual(errors, ['Invalid phone number format: 12-34']);
  // Standard Error Response
  assert.deepEqual([invalid.error.success, typeof invalid.error.error, invalid.error.code], [false, 'string', 'INVALID_PHONE_NUMBER']);
  const unknown = await sendMessage('user_test_user_123_device_nope', '+1234567890', 'Hello!');
  assert.equal(unknown.error.code, 'DEVICE_NOT_FOUND');
  assert.equal(errors.at(-1), `Error sending message: ${unknown.error.error}`);
});

test('seed 004 › Business Templates › Using Templates in Messages', { timeout: 60_000 }, async () => {
  // The templates API is not built; the snippet fills a template itself and sends the text.
  const API_BASE = base;
  const API_TOKEN = SEED_API_TOKEN;
  // Example: Using template variables
  const template = 'Welcome to {businessName}! Your order #{orderId} for {productName} is ready.';
  const variables = {
    businessName: "Joe's Coffee",
    orderId: '12345',
    productName: 'Cappuccino',
  };

  // Replace variables
  let message = template;
  for (const [key, value] of Object.entries(variables)) {
    message = message.replace(new RegExp(`\\{${key}\\}`, 'g'), value);
  }

  // Send the message
  const response = await fetch(`${API_BASE}/api/whatsapp/send`, {
    method: 'POST',
    headers: {
      'X-API-Token': API_TOKEN,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({
      sessionId: SESSION_ID,
      phoneNumber: '+1234567890',
      message: message,
    }),
  });
  assert.ok(response.ok, await response.clone().text());
  const text = "Welcome to Joe's Coffee! Your order #12345 for Cappuccino is ready.";
  await until(() => (sim.inbox(CONTACT).some((m) => m.text === text) ? true : undefined), 'the filled template on the phone');
});

test('seed 004 › Complete Integration Examples › Python Integration (and the PHP one: the same requests)', { timeout: 60_000 }, async () => {
  // class WhatsAppAPI, with requests' raise_for_status as a status check.
  const headers = { 'X-API-Token': SEED_API_TOKEN, 'Content-Type': 'application/json' };
  const request = async (path: string, json: object) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(json) });
    assert.ok(response.status < 400, `${path}: ${response.status} ${await response.clone().text()}`);
    return response.json() as Promise<any>;
  };
  const create_device = (user_id: string, alias: string) => request('/api/whatsapp/devices', { userId: user_id, alias });
  const send_message = (session_id: string, phone_number: string, message: string) =>
    request('/api/whatsapp/send', { sessionId: session_id, phoneNumber: phone_number, message });

  const device = await create_device('user_123', 'my-device');
  assert.equal(device.data.sessionId, 'user_user_123_device_my-device');
  // The seed's own session id for it, `user_123_device_my-device`, drops the `user_` of its userId.
  const result = await send_message(device.data.sessionId, '+1234567890', 'Hello from Python!');
  assert.match(result.data.messageId, /^msg_/);
  pythonMessageId = result.data.messageId;
});

test('seed 004 › Message Sending › 8. Resend Failed Message (curl)', { timeout: 60_000 }, async () => {
  // The Python example's message: its device was never linked, so it failed.
  await until(async () => ((await api(`/api/whatsapp/messages/${pythonMessageId}/status`)).data.status === 'failed' ? true : undefined), 'failed');
  const answer = await curlJson(
    sh`curl -X POST "${API_BASE}/api/whatsapp/messages/msg_abc123/resend" \
  -H "X-API-Token: ${API_TOKEN}"`.replace('msg_abc123', pythonMessageId),
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.equal(answer.data.messageId, pythonMessageId);
  assert.equal(answer.data.status, 'queued');
});

test('seed 004 › Device Management › 6. Logout Device (curl)', { timeout: 60_000 }, async () => {
  const answer = await curlJson(
    sh`curl -X POST "${API_BASE}/api/whatsapp/devices/1/logout" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  await until(async () => ((await api('/api/whatsapp/devices/1')).data.status === 'logged_out' ? true : undefined), 'logged out');
  await waitFor(integrationLog, (line) => line === 'Connection status: logged_out', 'the connection webhook');
  // Error Handling Example: the DEVICE_NOT_CONNECTED case.
  const refused = await api('/api/whatsapp/send', { method: 'POST', body: JSON.stringify({ sessionId: SESSION_ID, phoneNumber: '+1234567890', message: 'x' }) });
  assert.equal(refused.code, 'DEVICE_NOT_CONNECTED');
});

test('seed 004 › Device Management › 7. Login/Reconnect Device (curl)', { timeout: 60_000 }, async () => {
  const answer = await curlJson(
    sh`curl -X POST "${API_BASE}/api/whatsapp/devices/1/login" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  // "Response includes new QR code if needed": when one is known by then; otherwise it follows at GET …/qr.
  if ('qr' in answer) assert.equal(typeof answer.qr, 'string');
  await until(async () => ((await api('/api/whatsapp/devices/1/qr')).success ? true : undefined), 'a new QR');
});

test('seed 004 › Device Management › 8. Delete Device (curl)', async () => {
  const answer = await curlJson(
    sh`curl -X DELETE "${API_BASE}/api/whatsapp/devices/1" \
  -H "X-API-Token: ${API_TOKEN}"`,
    env(),
  );
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.equal((await api('/api/whatsapp/devices/1')).code, 'DEVICE_NOT_FOUND');
});
