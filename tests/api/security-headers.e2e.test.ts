import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Fastify from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import securityHeaders from '../../src/api/plugins/security-headers.ts';
import { ADMIN, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// Helmet's headers on every answer, and the two pages the server itself serves (the Swagger UI, bull-board) loaded
// in Debian's Chromium under their content security policy: they render, and the browser reports no violation.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let platform: TestPlatform;
let base: string;
let browser: Browser;

before(async () => {
  platform = await startTestPlatform();
  base = await platform.app.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await platform?.close();
});

test('every answer carries the security headers and a CSP without inline script; no HSTS unless configured', async () => {
  for (const res of [
    await platform.request({ method: 'GET', url: '/health' }),
    await platform.request({ method: 'GET', url: '/api/auth/me' }),
    await platform.request({ method: 'GET', url: '/no-such-page' }),
  ]) {
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(res.headers['strict-transport-security'], undefined);
    assert.equal(res.headers['set-cookie'], undefined);
  }
  assert.equal((await platform.request({ method: 'GET', url: '/api/auth/me' })).statusCode, 401);
});

test('HSTS_MAX_AGE turns on Strict-Transport-Security and upgrade-insecure-requests', async () => {
  const app = Fastify();
  await app.register(securityHeaders, { hstsMaxAgeMs: 180 * 86_400_000 });
  app.get('/', async () => 'ok');
  const res = await app.inject({ method: 'GET', url: '/' });
  assert.equal(res.headers['strict-transport-security'], 'max-age=15552000');
  assert.match(String(res.headers['content-security-policy']), /upgrade-insecure-requests/);
  await app.close();
});

async function openWatched(page: Page, url: string): Promise<string[]> {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  // Reported as a console error, whatever the browser's own wording.
  await page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))",
  );
  await page.goto(url);
  return problems;
}

test('the Swagger UI at /docs renders under the policy with no violation', async () => {
  const page = await browser.newPage();
  const problems = await openWatched(page, `${base}/docs`);
  await page.locator('.swagger-ui .info .title').getByText('WhatsApp multi-device API platform').waitFor();
  // An operation opens (the UI's own scripts and styles work, not only its first paint).
  await page.locator('.opblock-summary').first().click();
  await page.locator('.opblock-body').first().waitFor();
  await page.waitForTimeout(300);
  assert.deepEqual(problems, []);
  // Inline styles are allowed here, scripts from this origin only, as everywhere.
  assert.match(String((await page.request.get(`${base}/docs`)).headers()['content-security-policy']), /script-src 'self';.*style-src 'self' 'unsafe-inline'/);
  await page.close();
});

test('bull-board at /admin/queues renders under its policy with no violation', async () => {
  const context = await browser.newContext({ httpCredentials: { username: ADMIN.username, password: ADMIN.password } });
  const page = await context.newPage();
  // The machine is offline: the Google Fonts stylesheet bull-board links to is answered here (the policy allows it).
  await page.route('https://fonts.googleapis.com/**', (route) => route.fulfill({ status: 200, contentType: 'text/css', body: '' }));
  const problems = await openWatched(page, `${base}/admin/queues`);
  await page.getByText('maintenance', { exact: false }).first().waitFor();
  await page.waitForTimeout(300);
  assert.deepEqual(problems, []);
  const res = await page.request.get(`${base}/admin/queues`);
  assert.match(String(res.headers()['content-security-policy']), /script-src 'self';/);
  await context.close();
});
