// AI auto-replies end to end against a bare provider loop, on one local fake model (tests/helpers/fake-llm.ts,
// OpenAI wire format, streamed, answering `echo: <last user message>` at once) in one run:
// - platform: the real platform in process (role all, the machine's PostgreSQL and Redis, sending limits at their
//   floor: UNPACED_SENDING) with OPENAI_API_KEY/OPENAI_BASE_URL pointing at the fake (provider `openai`, model
//   gpt-4o-mini bootstrapped), one device linked to a simulated phone through its API, AI on with debounceSeconds 0,
//   no typing and a reply cap out of the way. BENCH_AI_CONTACTS (default 50) fresh simulated contacts each write one
//   message at once; from the first send until every contact's phone holds `echo: <its text>`. What that includes:
//   the inbound message through Baileys and the event log, the reactor's decision, the delayed reply job (0 debounce),
//   the burst taken under the chat's row lock, the cost-limit and model lookups, the device and provider slots, the
//   model call (HTTP + SSE through the `openai` SDK), the usage row, ai.replied with the queued send in one
//   transaction, the send queue, the Baileys send and the simulator's delivery to the phone. Per message also the
//   latency from its inbound send to its reply at the phone (polled every POLL_MS), p50/p99 over all rounds, and
//   where that time went (stderr: medians from message.received to ai.reply-requested, ai.replied, the reply's
//   message.sent, and the phone). Then BENCH_AI_SERIAL (default 10) contacts one after another, each writing once
//   its predecessor has its reply: the latency of one reply with nothing queued ahead of it.
// - baseline: only `complete()` (src/ai/providers.ts: the HTTP call with SSE parsing) against the same fake, in a
//   bare loop, BENCH_AI_CALLS (default 200) calls per round with as many in flight as the platform lets one device
//   have (min of AI_CONCURRENCY, AI_DEVICE_CONCURRENCY, AI_PROVIDER_CONCURRENCY as the platform's config reads them);
//   for the serial rows, BENCH_AI_SERIAL calls one after another.
// ROUNDS rounds each (after one unmeasured warm-up round), medians reported.
// Runs in a child process (child-run.ts): Baileys keeps timers alive after its sockets end.
import { setTimeout as sleep } from 'node:timers/promises';
import { complete } from '../src/ai/providers.ts';
import { sqlOf } from '../src/events/event-store.ts';
import { WhatsAppSimulator } from '../simulator/server.ts';
import { trustSimulator } from '../simulator/trust.ts';
import { echoLastUserMessage, startFakeLlm, type FakeLlm } from '../tests/helpers/fake-llm.ts';
import { until } from '../tests/helpers/wait.ts';
import { rowsFromChild, serveRows } from './child-run.ts';
import { checkWholeNumbers } from './messaging-runs.ts';
import { startBenchPlatform, UNPACED_SENDING, type BenchPlatform } from './platform.ts';
import { cleanupAll, cpuSteal, percentile, warnOnSteal } from './stats.ts';
import type { Row } from './types.ts';

const CONTACTS = Number(process.env.BENCH_AI_CONTACTS ?? 50);
const CALLS = Number(process.env.BENCH_AI_CALLS ?? 200);
const SERIAL = Number(process.env.BENCH_AI_SERIAL ?? 10);
const ROUNDS = 3;
const WARMUP_CONTACTS = 10;
const POLL_MS = 5;
const REPLY_TIMEOUT_MS = 120_000;
const DEVICE_NUMBER = '6281960000001';
const AI_ON = { aiEnabled: true, autoReply: true, provider: 'openai', model: 'gpt-4o-mini', debounceSeconds: 0, typing: false, maxRepliesPerHour: 1000 };

interface Rig {
  sim: WhatsAppSimulator;
  fake: FakeLlm;
  platform: BenchPlatform;
  close(): Promise<void>;
}

async function api(platform: BenchPlatform, method: string, path: string, body?: object): Promise<{ status: number; body: any }> {
  const headers = { 'x-api-token': platform.token, 'content-type': 'application/json' };
  const res = await fetch(`${platform.address}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: await res.json() };
}

// A device of the bootstrap admin linked through the QR flow (as tests/helpers/whatsapp.ts linkDevice), AI on.
async function linkAiDevice(platform: BenchPlatform, sim: WhatsAppSimulator): Promise<void> {
  const created = await api(platform, 'POST', '/api/whatsapp/devices', { alias: 'ai-bench' });
  if (created.status !== 201) throw new Error(`creating the device: ${created.status} ${JSON.stringify(created.body)}`);
  const { id } = created.body.device as { id: number };
  const qr = await until(async () => {
    const res = await api(platform, 'GET', `/api/whatsapp/devices/${id}/qr`);
    return res.status === 200 ? String(res.body.qr) : undefined;
  }, 'a QR for the device');
  sim.scan(qr, sim.createPhone(DEVICE_NUMBER).number);
  await until(async () => ((await api(platform, 'GET', `/api/whatsapp/devices/${id}`)).body.data?.status === 'connected' ? true : undefined), 'the device connected');
  const settings = await api(platform, 'PUT', `/api/whatsapp/devices/${id}/settings/ai`, AI_ON);
  if (settings.status !== 200) throw new Error(`AI settings: ${settings.status} ${JSON.stringify(settings.body)}`);
}

async function startRig(): Promise<Rig> {
  const sim = new WhatsAppSimulator();
  let fake: FakeLlm | undefined;
  let platform: BenchPlatform | undefined;
  const close = () => cleanupAll('ai', [() => platform?.close(), () => sim.close(), () => fake?.close()]);
  try {
    fake = await startFakeLlm({ reply: echoLastUserMessage });
    const { url, caPem } = await sim.listen();
    trustSimulator(caPem);
    platform = await startBenchPlatform({
      ROLE: 'all',
      WA_WEBSOCKET_URL: url,
      OPENAI_API_KEY: fake.apiKey!,
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      ...UNPACED_SENDING,
    });
    await linkAiDevice(platform, sim);
    return { sim, fake, platform, close };
  } catch (err) {
    await close();
    throw err;
  }
}

// How many model calls the platform makes at once for one device.
function platformInFlight(platform: BenchPlatform): number {
  const { concurrency, deviceConcurrency, providerConcurrency } = platform.app.config.ai;
  return Math.min(concurrency, deviceConcurrency, providerConcurrency);
}

interface Round {
  perS: number;
  latenciesMs: number[];
}

// calls/s of `complete()` alone, `inFlight` at a time, and each call's duration.
async function baselineRound(fake: FakeLlm, round: number, calls: number, inFlight: number): Promise<Round> {
  let next = 0;
  const latenciesMs: number[] = [];
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, calls) }, async () => {
      while (next < calls) {
        const text = `ai bench baseline r${round} c${next++}`;
        const callStarted = performance.now();
        const answer = await complete({ kind: 'openai', endpoint: fake.openaiBaseUrl, apiKey: fake.apiKey!, model: 'gpt-4o-mini', turns: [{ role: 'user', content: text }], timeoutMs: 60_000 });
        if (answer.text !== `echo: ${text}`) throw new Error(`the fake answered "${answer.text}" to "${text}"`);
        latenciesMs.push(performance.now() - callStarted);
      }
    }),
  );
  return { perS: calls / ((performance.now() - startedAt) / 1000), latenciesMs };
}

interface Contact {
  phone: string;
  text: string;
  sentAt: number;
  repliedAt: number;
}

const replyAt = (rig: Rig, c: Contact) => rig.sim.inbox(c.phone).find((m) => m.from.startsWith(DEVICE_NUMBER) && m.text === `echo: ${c.text}`)?.receivedAt;

async function repliesTo(rig: Rig, contacts: Contact[], round: number): Promise<void> {
  const deadline = Date.now() + REPLY_TIMEOUT_MS;
  let waiting = contacts;
  while (waiting.length) {
    for (const c of waiting) c.repliedAt = replyAt(rig, c) ?? 0;
    waiting = waiting.filter((c) => !c.repliedAt);
    if (!waiting.length) break;
    if (Date.now() > deadline) throw new Error(`round ${round}: ${contacts.length - waiting.length} of ${contacts.length} contacts got their reply within ${REPLY_TIMEOUT_MS / 1000} s`);
    await sleep(POLL_MS);
  }
}

// `count` fresh contacts, each with one message to write.
function contactsOf(rig: Rig, round: number, kind: 'burst' | 'serial', count: number): Contact[] {
  return Array.from({ length: count }, (_, i) => {
    const phone = rig.sim.createPhone(`6281${kind === 'burst' ? 97 : 98}${round + 1}${String(i).padStart(6, '0')}`).number;
    rig.sim.setReceipts(phone, { policy: 'delivered', delayMs: 0 });
    return { phone, text: `ai bench ${kind} r${round} c${i}`, sentAt: 0, repliedAt: 0 };
  });
}

// The contacts write at once; replies/s first send → last reply at a phone, and each message's latency.
async function burstRound(rig: Rig, round: number, count: number): Promise<Round & { contacts: Contact[] }> {
  const contacts = contactsOf(rig, round, 'burst', count);
  const startedAt = Date.now();
  for (const c of contacts) {
    c.sentAt = Date.now();
    rig.sim.sendFromPhone(c.phone, DEVICE_NUMBER, c.text);
  }
  await repliesTo(rig, contacts, round);
  const last = Math.max(...contacts.map((c) => c.repliedAt));
  return { perS: (count / (last - startedAt)) * 1000, latenciesMs: contacts.map((c) => c.repliedAt - c.sentAt), contacts };
}

// One contact at a time, each after the previous one's reply: latency with nothing queued ahead.
async function serialRound(rig: Rig, round: number, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (const c of contactsOf(rig, round, 'serial', count)) {
    c.sentAt = Date.now();
    rig.sim.sendFromPhone(c.phone, DEVICE_NUMBER, c.text);
    await repliesTo(rig, [c], round);
    latencies.push(c.repliedAt - c.sentAt);
  }
  return latencies;
}

async function serialBaseline(fake: FakeLlm, count: number): Promise<number[]> {
  return (await baselineRound(fake, -2, count, 1)).latenciesMs;
}

// Where a burst's replies spent their time, from the events' commit times: medians per stage, in ms.
async function stagesOf(rig: Rig, contacts: Contact[]): Promise<string> {
  const rows = await sqlOf(rig.platform.app.orm.em.fork())(
    `with received as (
       select data->>'chatJid' as chat, min(recorded_at) as at from events where type = 'message.received' and data->>'chatJid' in (?) group by 1),
     requested as (select data->>'chatJid' as chat, min(recorded_at) as at from events where type = 'ai.reply-requested' and data->>'chatJid' in (?) group by 1),
     replied as (select data->>'chatJid' as chat, min(recorded_at) as at, min(data->'replyMessageIds'->>0) as reply from events where type = 'ai.replied' and data->>'chatJid' in (?) group by 1)
     select r.chat, extract(epoch from r.at) * 1000 as received, extract(epoch from q.at) * 1000 as requested, extract(epoch from p.at) * 1000 as replied,
       (select extract(epoch from min(s.recorded_at)) * 1000 from events s where s.stream_id = 'message-' || p.reply and s.type = 'message.sent') as sent
       from received r join requested q using (chat) join replied p using (chat)`,
    [contacts.map((c) => `${c.phone}@s.whatsapp.net`), contacts.map((c) => `${c.phone}@s.whatsapp.net`), contacts.map((c) => `${c.phone}@s.whatsapp.net`)],
  );
  const atPhone = new Map(contacts.map((c) => [`${c.phone}@s.whatsapp.net`, c.repliedAt]));
  const median = (f: (row: Record<string, unknown>) => number) => percentile(rows.map(f), 0.5).toFixed(0);
  return (
    `received → reply-requested ${median((r) => Number(r.requested) - Number(r.received))} ms, ` +
    `→ replied ${median((r) => Number(r.replied) - Number(r.requested))} ms, → sent ${median((r) => Number(r.sent) - Number(r.replied))} ms, ` +
    `→ at the phone ${median((r) => atPhone.get(String(r.chat))! - Number(r.sent))} ms (medians of ${rows.length})`
  );
}

async function measure(): Promise<Row[]> {
  checkWholeNumbers({ BENCH_AI_CONTACTS: CONTACTS, BENCH_AI_CALLS: CALLS, BENCH_AI_SERIAL: SERIAL });
  console.error('ai: starting the fake model, the simulator and the platform, linking a device…');
  const rig = await startRig();
  try {
    const inFlight = platformInFlight(rig.platform);
    const steal = cpuSteal();
    const rounds: Record<'platform' | 'baseline', Round[]> = { platform: [], baseline: [] };
    const serial: Record<'platform' | 'baseline', number[]> = { platform: [], baseline: [] };
    // Round -1 is unmeasured: both code paths warm, the model's and the provider's rows cached where they are.
    for (let round = -1; round < ROUNDS; round++) {
      const bare = await baselineRound(rig.fake, round, round < 0 ? WARMUP_CONTACTS : CALLS, inFlight);
      const result = await burstRound(rig, round, round < 0 ? WARMUP_CONTACTS : CONTACTS);
      const p = (r: Round, q: number) => percentile(r.latenciesMs, q).toFixed(q < 0.9 ? 1 : 0);
      console.error(
        `ai: round ${round}: baseline ${bare.perS.toFixed(0)} calls/s (${inFlight} in flight, p50 ${p(bare, 0.5)} ms, p99 ${p(bare, 0.99)} ms); ` +
          `platform ${result.perS.toFixed(1)} replies/s (p50 ${p(result, 0.5)} ms, p99 ${p(result, 0.99)} ms)`,
      );
      // The phones' receipts and the sends' statuses are recorded after the replies arrive; the next round should
      // not pay for them.
      await sleep(1000);
      if (round < 0) continue;
      console.error(`ai: round ${round}: where the burst's time went: ${await stagesOf(rig, result.contacts)}`);
      rounds.baseline.push(bare);
      rounds.platform.push(result);
      serial.platform.push(...(await serialRound(rig, round, SERIAL)));
      serial.baseline.push(...(await serialBaseline(rig.fake, SERIAL)));
    }
    warnOnSteal('ai', steal());

    const median = (samples: number[]) => percentile(samples, 0.5);
    const name = `ai replies: ${CONTACTS} contacts write at once to one device, debounce 0, limits at their floor (platform end to end vs bare complete() loop of ${CALLS}, ${inFlight} in flight, same fake model)`;
    const perS = { platform: median(rounds.platform.map((r) => r.perS)), baseline: median(rounds.baseline.map((r) => r.perS)) };
    const latency = (side: 'platform' | 'baseline', q: number) => percentile(rounds[side].flatMap((r) => r.latenciesMs), q);
    const latencyRow = (q: number, label: string): Row => ({
      name,
      metric: `latency ${label} over all ${ROUNDS} rounds: inbound send → reply at the phone; baseline: one complete() call`,
      platform: latency('platform', q),
      baseline: latency('baseline', q),
      unit: 'ms',
      ratio: latency('platform', q) / latency('baseline', q),
      better: 'lower',
    });
    return [
      { name, metric: `ai replies/s, first inbound send → last reply at a phone (median of ${ROUNDS}); baseline: calls/s`, platform: perS.platform, baseline: perS.baseline, unit: '/s', ratio: perS.platform / perS.baseline, better: 'higher' },
      latencyRow(0.5, 'p50'),
      latencyRow(0.99, 'p99'),
      ...([0.5, 0.99] as const).map((q): Row => {
        const [platform, baseline] = [percentile(serial.platform, q), percentile(serial.baseline, q)];
        return { name, metric: `latency ${q === 0.5 ? 'p50' : 'p99'} of ${SERIAL * ROUNDS} contacts one after another: inbound send → reply at the phone; baseline: one complete() call`, platform, baseline, unit: 'ms', ratio: platform / baseline, better: 'lower' };
      }),
    ];
  } finally {
    await rig.close();
  }
}

export default (): Promise<Row[]> => rowsFromChild(import.meta.filename, 'ai', 10 * 60_000);

if (import.meta.main) await serveRows(measure);
