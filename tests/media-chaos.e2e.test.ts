import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { makeMedia } from './helpers/media.ts';
import { adminClient, freePort, PROCESS_ADMIN_TOKEN, stopProcess, untilReady, useProcessFleet } from './helpers/processes.ts';
import { until } from './helpers/wait.ts';

// Media through crashes, in real processes (an API and two workers): an upload cut off by a SIGKILLed API leaves no
// row, stored files survive every restart, and image sends with the worker holding the session SIGKILLed mid-run
// all reach their contacts intact, each under one WhatsApp id, nothing left queued.
const SENDS = 30;
const fleet = useProcessFleet({ SESSION_LEASE_TTL: '3s', SESSION_SCAN_INTERVAL: '300ms', SEND_MIN_INTERVAL: '60ms', SEND_JITTER: '0', LOG_LEVEL: 'warn', RATE_LIMIT_UPLOADS: '100000/1m' });
const { sim, start, leaseHolder } = fleet;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function uploadTo(base: string, data: Buffer, filename: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(data)]), filename);
  form.append('userId', 'admin');
  const res = await fetch(`${base}/api/whatsapp/files/upload`, { method: 'POST', headers: { 'x-admin-token': PROCESS_ADMIN_TOKEN }, body: form });
  const body = (await res.json()) as { data: { fileId: string } };
  assert.equal(res.status, 201, JSON.stringify(body));
  return body.data.fileId;
}

test('a cut-off upload leaves nothing; files survive restarts; sends through a SIGKILLed worker all arrive intact, once each', { timeout: 240_000 }, async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const api = async (method: string, path: string, body?: unknown) => (await adminClient(base)(method, path, body)).body;
  let apiProcess = start({ ROLE: 'api', PORT: String(port) });
  const workers = [start({ ROLE: 'worker', PORT: String(await freePort()) }), start({ ROLE: 'worker', PORT: String(await freePort()) })];
  await untilReady(base, apiProcess);

  const jpeg = await makeMedia.jpeg('#336699');
  const fileId = await uploadTo(base, jpeg, 'promo.jpg');

  // An upload whose body is still streaming when the API process is killed.
  const boundary = 'cut-off-upload';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n`;
  const partial = (async function* () {
    yield Buffer.from(head);
    yield makeMedia.pdf('cut');
    for (let i = 0; i < 200; i++) {
      yield Buffer.alloc(64 * 1024);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const cutOff = fetch(`${base}/api/whatsapp/files/upload`, {
    method: 'POST',
    headers: { 'x-admin-token': PROCESS_ADMIN_TOKEN, 'content-type': `multipart/form-data; boundary=${boundary}` },
    body: ReadableStream.from(partial),
    duplex: 'half',
  } as RequestInit).then(() => 'answered', () => 'cut off');
  await new Promise((resolve) => setTimeout(resolve, 600));
  await stopProcess(apiProcess, 'SIGKILL');
  assert.equal(await cutOff, 'cut off');
  apiProcess = start({ ROLE: 'api', PORT: String(port) });
  await untilReady(base, apiProcess);

  const db = new pg.Client({ connectionString: fleet.resources.databaseUrl });
  await db.connect();
  try {
    const { rows: files } = await db.query('select id from files');
    assert.deepEqual(files.map((f) => f.id), [fileId], 'no row for the cut-off upload');
    const survived = await fetch(`${base}/api/whatsapp/files/${fileId}/download`, { headers: { 'x-admin-token': PROCESS_ADMIN_TOKEN } });
    assert.equal(sha256(Buffer.from(await survived.arrayBuffer())), sha256(jpeg), 'the file survives the API restart');

    const number = '6281600000001';
    sim.createPhone(number);
    const { device } = await api('POST', '/api/whatsapp/devices', { userId: 'admin', alias: 'media-chaos' });
    const qr = await until(async () => (await api('GET', `/api/whatsapp/devices/${device.id}/qr`)).qr as string | undefined, 'QR');
    sim.scan(qr, number);
    await until(async () => ((await api('GET', `/api/whatsapp/devices/${device.id}`)).data?.status === 'connected' ? true : undefined), 'connected');

    const contacts = Array.from({ length: SENDS }, (_, i) => sim.createPhone(`62816100${String(i).padStart(5, '0')}`).number);
    for (const [i, contact] of contacts.entries()) {
      const res = await api('POST', '/api/whatsapp/send/image', { sessionId: device.sessionId, phoneNumber: contact, fileId, caption: `chaos #${i}` });
      assert.match(String(res.data?.messageId), /^msg_/);
    }
    // Kill the worker holding the session while the sends are under way.
    await until(() => (contacts.filter((c) => sim.inbox(c).length).length >= 5 ? true : undefined), 'the first sends');
    const pid = await leaseHolder(device.id);
    const holder = workers.find((w) => w.child.pid === pid);
    assert.ok(holder, 'a worker holds the session');
    await stopProcess(holder, 'SIGKILL');
    workers.push(start({ ROLE: 'worker', PORT: String(await freePort()) }));

    await until(
      async () => {
        const { rows } = await db.query(`select count(*)::int as n from message_status where direction = 'out' and status in ('queued')`);
        return rows[0].n === 0 && contacts.every((c) => sim.inbox(c).some((e) => e.media)) ? true : undefined;
      },
      'every image sent and at its contact',
      150_000,
    );
    for (const [i, contact] of contacts.entries()) {
      const copies = sim.inbox(contact).filter((e) => e.media);
      assert.equal(new Set(copies.map((e) => e.id)).size, 1, `${contact}: one WhatsApp id`);
      for (const copy of copies) {
        assert.equal(copy.media!.verified, true, `${contact}: ${copy.media!.error}`);
        assert.equal(copy.media!.sha256, sha256(jpeg));
        assert.equal(copy.media!.caption, `chaos #${i}`);
      }
    }
    const { rows: failed } = await db.query(`select count(*)::int as n from message_status where direction = 'out' and status = 'failed'`);
    assert.equal(failed[0].n, 0);
  } finally {
    await db.end();
  }
});
