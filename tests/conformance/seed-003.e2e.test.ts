import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { ADMIN_TOKEN } from '../helpers/platform.ts';
import { until } from '../helpers/wait.ts';
import type { WhatsAppSimulator } from '../../simulator/server.ts';
import { curlJson, curlJsonEach, scanWithPhone, useSeedPlatform, waitFor } from './seed-platform.ts';

// Seed 003 ("WhatsApp Multi-Session API Guide"), snippet by snippet. Its curl commands run through bash as written,
// with the seed's placeholders replaced as a user fills them in: `http://localhost:8080` (this platform's
// address), `YOUR_TOKEN` (the token its login answered), `1234567890`/`SESSION_ID_1` (a session's id). Its
// JavaScript is browser code with relative URLs: the same calls, against this platform's address. Its server setup
// and deployment sections (a Go binary, MySQL settings) are another product's.
let sim: WhatsAppSimulator;
let base: string;
// The seed's admin/admin.
useSeedPlatform({ ADMIN_PASSWORD: 'admin' }, (seed) => {
  ({ sim, API_BASE: base } = seed);
});

// The business phone (the seed's `"phone": "6282260790996"`) and the customer it writes to.
const BUSINESS_PHONE = '6282260790996';
const RECIPIENT = '6281381393739';

let token: string;
let business: { id: number; [k: string]: unknown };
let personal: { id: number; [k: string]: unknown };

// The seed's placeholders, as a user fills them in.
const fill = (snippet: string, values: Record<string, string> = {}) =>
  Object.entries({ 'http://localhost:8080': base, YOUR_TOKEN: token, ...values }).reduce((text, [from, to]) => text.replaceAll(from, to), snippet);
const forSession = (snippet: string, session = business) => fill(snippet, { '1234567890': String(session.id) });

// The browser snippets' fetch with their relative URLs.
const api = (path: string, init?: RequestInit) => fetch(`${base}${path}`, init);

test('seed 003 › Authentication Flow › Step 1: Login (curl)', async () => {
  const answer = await curlJson(fill(String.raw`curl -X POST http://localhost:8080/api/login \
  -H "Content-Type: application/json" \
  -d '{
    "username": "admin",
    "password": "admin"
  }'`));
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.equal(typeof answer.token, 'string');
  assert.equal(typeof answer.user.id, 'number');
  assert.equal(answer.user.username, 'admin');
  token = answer.token;
});

test('seed 003 › Multi-Session Scenarios › Scenario 1: Single User, Multiple Phone Numbers (curl)', async () => {
  const [businessSession, personalSession] = await curlJsonEach([
    fill(String.raw`# 1. Create Business Session
curl -X POST http://localhost:8080/api/sessions \
  -H "Authorization: Bearer YOUR_TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "name": "Business Support",
    "webhook_url": "https://myapp.com/webhook/business"
  }'`),
    fill(String.raw`# 2. Create Personal Session  
curl -X POST http://localhost:8080/api/sessions \
  -H "Authorization: Bearer YOUR_TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "name": "Personal Account",
    "webhook_url": "https://myapp.com/webhook/personal"
  }'`),
  ]);
  assert.equal(businessSession.name, 'Business Support', JSON.stringify(businessSession));
  assert.equal(businessSession.webhook_url, 'https://myapp.com/webhook/business');
  assert.equal(personalSession.name, 'Personal Account', JSON.stringify(personalSession));
  business = businessSession;
  personal = personalSession;

  const connected = await curlJsonEach([
    fill(
      String.raw`# 3. Connect both sessions (scan different QR codes)
curl -X POST http://localhost:8080/api/sessions/SESSION_ID_1/connect \
  -H "Authorization: Bearer YOUR_TOKEN"`,
      { SESSION_ID_1: String(business.id) },
    ),
    fill(
      String.raw`curl -X POST http://localhost:8080/api/sessions/SESSION_ID_2/connect \
  -H "Authorization: Bearer YOUR_TOKEN"`,
      { SESSION_ID_2: String(personal.id) },
    ),
  ]);
  assert.deepEqual(connected.map((s) => s.id), [business.id, personal.id], JSON.stringify(connected));
});

test('seed 003 › Multi-Session Scenarios › Scenario 2: Multiple Users with Separate Sessions (curl)', async () => {
  // "if multiple users are set up": the administrator sets up user2.
  const setUp = await api('/api/whatsapp/admin/users', {
    method: 'POST',
    headers: { 'X-Admin-Token': ADMIN_TOKEN, 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'user2', password: 'password2' }),
  });
  assert.equal(setUp.status, 201, await setUp.text());

  // These commands send no Content-Type: curl labels the body application/x-www-form-urlencoded.
  const [login1, login2] = await curlJsonEach([
    fill(String.raw`# User 1 Login
curl -X POST http://localhost:8080/api/login \
  -d '{"username": "admin", "password": "admin"}'`),
    fill(String.raw`# User 2 Login (if multiple users are set up)
curl -X POST http://localhost:8080/api/login \
  -d '{"username": "user2", "password": "password2"}'`),
  ]);
  assert.equal(typeof login1.token, 'string', JSON.stringify(login1));
  assert.equal(typeof login2.token, 'string', JSON.stringify(login2));

  const [session1, session2] = await curlJsonEach([
    fill(
      String.raw`# Each user creates their own sessions
curl -X POST http://localhost:8080/api/sessions \
  -H "Authorization: Bearer TOKEN1" \
  -d '{"name": "User 1 Session"}'`,
      { TOKEN1: login1.token },
    ),
    fill(
      String.raw`curl -X POST http://localhost:8080/api/sessions \
  -H "Authorization: Bearer TOKEN2" \
  -d '{"name": "User 2 Session"}'`,
      { TOKEN2: login2.token },
    ),
  ]);
  assert.equal(session1.name, 'User 1 Session', JSON.stringify(session1));
  assert.equal(session2.name, 'User 2 Session', JSON.stringify(session2));
  const sessionsOf = async (t: string) => ((await (await api('/api/sessions', { headers: { Authorization: `Bearer ${t}` } })).json()) as { id: number }[]).map((s) => s.id);
  assert.ok(!(await sessionsOf(login2.token)).includes(session1.id), "user2 does not see user 1's session");
  assert.ok((await sessionsOf(login2.token)).includes(session2.id));
});

test('seed 003 › WebSocket Integration › QR Code Authentication Process', { timeout: 120_000 }, async () => {
  // 1. Create/Connect Session
  const connected = await curlJson(forSession(String.raw`curl -X POST http://localhost:8080/api/sessions/1234567890/connect \
  -H "Authorization: Bearer YOUR_TOKEN"`));
  assert.equal(connected.id, business.id, JSON.stringify(connected));
  // The QR the session shows now (connected since Scenario 1): the one a WebSocket opened now should display.
  const showing = await until(async () => {
    const answer: any = await (await api(`/api/whatsapp/devices/${business.id}/qr`, { headers: { Authorization: `Bearer ${token}` } })).json();
    return answer.qr as string | undefined;
  }, 'the QR the session shows');

  // 2. Connect to WebSocket (the browser's WebSocket). 3. Display options A (an external image service) and B
  // (QRCode.toCanvas on a page's canvas) draw the QR for the phone: here the phone scans its text.
  const log: string[] = [];
  const displayed: string[] = [];
  const displayQRCode = (qr: string) => {
    displayed.push(qr);
    if (!log.includes('scanned')) scanWithPhone(sim, qr, BUSINESS_PHONE);
    log.push('scanned');
  };
  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/ws/${business.id}?token=${token}`);

  ws.onopen = function () {
    log.push('WebSocket connected');
  };

  ws.onmessage = function (event) {
    const data = JSON.parse(event.data);

    switch (data.type) {
      case 'qr':
        log.push(`QR Code: ${data.data.qr}`);
        // Display QR code for user to scan
        displayQRCode(data.data.qr);
        break;

      case 'success':
        log.push('Authentication successful!');
        // Session is now connected
        break;

      case 'error':
        log.push(`Error: ${data.data.error}`);
        break;
    }
  };

  // Without the QR shown at once, the next one comes when this one expires (60 s at first).
  await until(() => (log.includes('Authentication successful!') ? true : undefined), `success on the WebSocket (${log.join(' | ')})`, 90_000);
  ws.close();
  assert.equal(log[0], 'WebSocket connected');
  assert.ok(log.some((line) => /^QR Code: \S+/.test(line)), log.join(' | '));
  assert.ok(!log.some((line) => line.startsWith('Error:')), log.join(' | '));
  assert.equal(displayed[0], showing, 'the socket first displays the QR the session was showing when it opened, not only the next one');
});

test('seed 003 › Message Sending › Method 1: Session-Specific Sending (curl)', { timeout: 60_000 }, async () => {
  sim.createPhone(RECIPIENT);
  const answer = await curlJson(forSession(String.raw`curl -X POST http://localhost:8080/api/sessions/1234567890/send \
  -H "Authorization: Bearer YOUR_TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "recipient": "6281381393739",
    "message": "Hello from specific session!"
  }'`));
  assert.equal(answer.success, true, JSON.stringify(answer));
  await until(() => (sim.inbox(RECIPIENT).some((m) => m.text === 'Hello from specific session!') ? true : undefined), 'the text on the phone');
});

test('seed 003 › Message Sending › Method 2: Phone Number Selection (curl)', { timeout: 60_000 }, async () => {
  const answer = await curlJson(fill(String.raw`curl -X POST http://localhost:8080/api/send \
  -H "Authorization: Bearer YOUR_TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "phone": "6282260790996",
    "recipient": "6281381393739",
    "message": "Hello from selected phone!"
  }'`));
  assert.equal(answer.success, true, JSON.stringify(answer));
  await until(() => (sim.inbox(RECIPIENT).some((m) => m.text === 'Hello from selected phone!') ? true : undefined), 'the text on the phone');
});

test('seed 003 › Number & Group Management › Check if Number is on WhatsApp (curl)', { timeout: 60_000 }, async () => {
  const answer = await curlJson(forSession(String.raw`curl -X POST http://localhost:8080/api/sessions/1234567890/check-number \
  -H "Authorization: Bearer YOUR_TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "number": "6281381393739"
  }'`));
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.equal(answer.number, '6281381393739');
  assert.equal(answer.on_whatsapp, true);
  assert.equal(answer.verified, false);
});

test('seed 003 › Number & Group Management › List All Groups (curl)', { timeout: 60_000 }, async () => {
  sim.createGroup('Family Group', [RECIPIENT, BUSINESS_PHONE]);
  sim.createGroup('Work Team', [BUSINESS_PHONE, RECIPIENT]);
  const answer = await curlJson(forSession(String.raw`curl -X GET http://localhost:8080/api/sessions/1234567890/groups \
  -H "Authorization: Bearer YOUR_TOKEN"`));
  assert.equal(answer.success, true, JSON.stringify(answer));
  assert.equal(answer.count, 2);
  const byName = Object.fromEntries(answer.groups.map((g: { name: string }) => [g.name, g]));
  for (const group of Object.values(byName) as Record<string, unknown>[]) {
    assert.match(String(group.jid), /@g\.us$/);
    for (const field of ['topic', 'description', 'owner']) assert.equal(typeof group[field], 'string', `${field}: ${JSON.stringify(group)}`);
    assert.equal(group.participant_count, 2);
  }
  assert.deepEqual([byName['Family Group'].is_admin, byName['Family Group'].is_super_admin], [false, false]);
  assert.equal(byName['Work Team'].owner, `${BUSINESS_PHONE}@s.whatsapp.net`);
  assert.equal(byName['Work Team'].is_admin || byName['Work Team'].is_super_admin, true);
});

// Method 1, as the integration examples' `sendMessage(sessionId, number, message)`.
const sendMessage = (sessionId: number, recipient: string, message: string) =>
  api(`/api/sessions/${sessionId}/send`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ recipient, message }),
  });

test('seed 003 › Integration Examples › 1. Bulk Message with Number Validation', { timeout: 60_000 }, async () => {
  const sent: string[] = [];
  async function sendBulkMessages(sessionId: number, recipients: string[], message: string) {
    const validNumbers = [];

    // Check all numbers first
    for (const number of recipients) {
      const response = await api(`/api/sessions/${sessionId}/check-number`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({ number }),
      });

      const result: any = await response.json();
      if (result.on_whatsapp) {
        validNumbers.push(number);
      }
    }

    // Send messages to valid numbers only
    for (const number of validNumbers) {
      await sendMessage(sessionId, number, message);
      sent.push(number);
    }
  }
  await sendBulkMessages(business.id, [RECIPIENT, '6281381390000'], 'Bulk hello');
  assert.deepEqual(sent, [RECIPIENT], 'the number not on WhatsApp is skipped');
  await until(() => (sim.inbox(RECIPIENT).some((m) => m.text === 'Bulk hello') ? true : undefined), 'the bulk text on the phone');
});

test('seed 003 › Integration Examples › 2. Group-Based Broadcasting', { timeout: 60_000 }, async () => {
  const targeted: string[] = [];
  async function broadcastToGroups(sessionId: number, message: string, adminOnly = false) {
    // Get all groups
    const response = await api(`/api/sessions/${sessionId}/groups`, {
      headers: { Authorization: `Bearer ${token}` },
    });

    const { groups }: any = await response.json();

    // Filter groups if admin-only broadcasting
    const targetGroups = adminOnly ? groups.filter((g: any) => g.is_admin || g.is_super_admin) : groups;

    // Send messages to groups
    for (const group of targetGroups) {
      const sent = await sendMessage(sessionId, group.jid, message);
      assert.ok(sent.ok, `${group.jid}: ${sent.status} ${await sent.text()}`);
      targeted.push(group.name);
    }
  }
  await broadcastToGroups(business.id, 'To the groups I run', true);
  assert.deepEqual(targeted, ['Work Team']);
  await until(() => (sim.inbox(RECIPIENT).some((m) => m.text === 'To the groups I run') ? true : undefined), 'the group text on a member’s phone');
});

// The seed's Express handler (app.post('/webhook', express.json(), …)) on a real HTTP server.
const received: { session_id: unknown; message: Record<string, unknown> }[] = [];
const handlerLog: string[] = [];
after(() => {
  if (!receiver.listening) return;
  receiver.closeAllConnections();
  receiver.close();
});
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const { session_id, message } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    handlerLog.push(`New message in session ${session_id}:`, `From: ${message.from}`, `Message: ${message.message}`, `Timestamp: ${message.timestamp}`);
    received.push({ session_id, message });
    res.writeHead(200).end('OK');
  });
});

test('seed 003 › Webhook Integration › 1. Configure Webhook URL (curl)', async () => {
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  // The seed's https://myapp.com/webhook is the user's own server: here, the receiver above.
  const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/webhook`;
  const answer = await curlJson(
    forSession(String.raw`curl -X PUT http://localhost:8080/api/sessions/1234567890/webhook \
  -H "Authorization: Bearer YOUR_TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "webhook_url": "https://myapp.com/webhook"
  }'`).replace('https://myapp.com/webhook', url),
  );
  assert.equal(answer.webhook_url, url, JSON.stringify(answer));
});

test('seed 003 › Webhook Integration › 2. Handle Incoming Messages / 3. Webhook Payload Structure', { timeout: 60_000 }, async () => {
  sim.sendFromPhone(RECIPIENT, BUSINESS_PHONE, 'Hello!');
  const { session_id, message } = await waitFor(received, (r) => r.message?.message === 'Hello!', 'the webhook for the message');
  assert.equal(String(session_id), String(business.id), 'session_id is the id /api/sessions answered');
  assert.equal(typeof message.id, 'string');
  assert.equal(message.from, `${RECIPIENT}@s.whatsapp.net`);
  assert.equal(message.to, `${BUSINESS_PHONE}@s.whatsapp.net`);
  assert.equal(message.message, 'Hello!');
  assert.equal(typeof message.timestamp, 'number');
  assert.ok((message.timestamp as number) < 1e11, 'seconds');
  assert.ok(handlerLog.includes(`From: ${RECIPIENT}@s.whatsapp.net`) && handlerLog.includes('Message: Hello!'), handlerLog.join(' | '));
});

test('seed 003 › Advanced Use Cases › Use Case 1: WhatsApp Business API Alternative', { timeout: 60_000 }, async () => {
  // The departments' session ids are the user's own: the business session for support.
  const departments: Record<string, number> = { support: business.id };
  function routeMessage(department: string, recipient: string, message: string) {
    const sessionId = departments[department];
    return api(`/api/sessions/${sessionId}/send`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ recipient, message }),
    });
  }
  const response = await routeMessage('support', RECIPIENT, 'Support here');
  assert.ok(response.ok, await response.text());
  await until(() => (sim.inbox(RECIPIENT).some((m) => m.text === 'Support here') ? true : undefined), 'the routed text');
});

test('seed 003 › Advanced Use Cases › Use Case 2: Multi-Tenant SaaS Platform', async () => {
  class WhatsAppTenant {
    tenantId: string;
    authToken: string;
    sessions = new Map<unknown, any>();
    constructor(tenantId: string, authToken: string) {
      this.tenantId = tenantId;
      this.authToken = authToken;
    }

    async createSession(name: string, webhookUrl: string) {
      const response = await api('/api/sessions', {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.authToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name, webhook_url: webhookUrl }),
      });

      const session: any = await response.json();
      this.sessions.set(session.id, session);
      return session;
    }
  }
  const tenant = new WhatsAppTenant('acme', token);
  const session = await tenant.createSession('Acme Support', 'https://acme.example/webhook');
  assert.equal(typeof session.id, 'number', JSON.stringify(session));
  assert.equal(tenant.sessions.get(session.id).name, 'Acme Support');
});

test('seed 003 › Advanced Use Cases › Use Case 3: Load Balancing Messages', { timeout: 60_000 }, async () => {
  class MessageBalancer {
    sessions: any[];
    authToken: string;
    currentIndex = 0;
    constructor(sessions: any[], authToken: string) {
      this.sessions = sessions;
      this.authToken = authToken;
    }

    async sendBalanced(recipient: string, message: string) {
      const session = this.sessions[this.currentIndex];
      this.currentIndex = (this.currentIndex + 1) % this.sessions.length;

      return api('/api/send', {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.authToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ phone: session.phone, recipient, message }),
      });
    }
  }
  // The sessions with a phone: the linked ones, from GET /api/sessions.
  const sessions = ((await (await api('/api/sessions', { headers: { Authorization: `Bearer ${token}` } })).json()) as any[]).filter((s) => s.phone);
  assert.deepEqual(sessions.map((s) => s.phone), [BUSINESS_PHONE]);
  const response = await new MessageBalancer(sessions, token).sendBalanced(RECIPIENT, 'Balanced hello');
  assert.ok(response.ok, await response.text());
  await until(() => (sim.inbox(RECIPIENT).some((m) => m.text === 'Balanced hello') ? true : undefined), 'the balanced text');
});

test('seed 003 › Error Handling › Error Response Format', async () => {
  const cases: [string, RequestInit, number][] = [
    ['/api/sessions/999999', { headers: { Authorization: `Bearer ${token}` } }, 404],
    ['/api/sessions', {}, 401],
    ['/api/sessions', { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({}) }, 400],
  ];
  for (const [path, init, status] of cases) {
    const response = await api(path, init);
    const body: any = await response.json();
    assert.equal(response.status, status, `${path}: ${JSON.stringify(body)}`);
    assert.equal(typeof body.error, 'string', `${path}: error in ${JSON.stringify(body)}`);
    assert.equal(typeof body.message, 'string', `${path}: message in ${JSON.stringify(body)}`);
  }
});

test('seed 003 › Error Handling › Retry Logic Example', { timeout: 60_000 }, async () => {
  async function sendMessageWithRetry(sessionId: number, recipient: string, message: string, maxRetries = 3) {
    for (let i = 0; i < maxRetries; i++) {
      try {
        const response = await api(`/api/sessions/${sessionId}/send`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ recipient, message }),
        });

        if (response.ok) {
          return await response.json();
        }

        if (response.status === 401) {
          // Token expired, need to re-authenticate (refreshToken)
          continue;
        }

        if (response.status === 404) {
          throw new Error('Session not found or not logged in');
        }
      } catch (error) {
        if (i === maxRetries - 1) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10 * (i + 1)));
      }
    }
  }
  const sent: any = await sendMessageWithRetry(business.id, RECIPIENT, 'Retried hello');
  assert.equal(sent.success, true, JSON.stringify(sent));
  await assert.rejects(sendMessageWithRetry(999999, RECIPIENT, 'Nowhere'), /Session not found or not logged in/);
});

test('seed 003 › Monitoring & Analytics › Session Status Monitoring', async () => {
  async function monitorSessions() {
    const response = await api('/api/sessions', {
      headers: { Authorization: `Bearer ${token}` },
    });

    const sessions: any = await response.json();

    const stats = {
      total: sessions.length,
      connected: sessions.filter((s: any) => s.connected).length,
      logged_in: sessions.filter((s: any) => s.logged_in).length,
      disconnected: sessions.filter((s: any) => !s.connected).length,
    };
    return stats;
  }
  // Business Support (linked), Personal Account (never scanned), User 1 Session, Acme Support.
  assert.deepEqual(await monitorSessions(), { total: 4, connected: 1, logged_in: 1, disconnected: 3 });
});
