// End-to-end sending through N simulated sessions (BENCH_MESSAGING_SESSIONS, default 20) with every sending limit
// off, against the raw component: bare Baileys sockets calling `sendMessage` in a loop on sessions of their own in
// the same simulator and run. Measured at the simulator, as the phones receive the texts (messaging-runs.ts):
// - a burst of M texts per session (BENCH_MESSAGES_PER_SESSION, default 50), all sessions at once. Platform: each
//   202 is followed by the dispatcher, the session's BullMQ queue and sender, Baileys, then message.sent and
//   message.delivered. Messages/s from the first request to the last text at a phone. The platform also waits for
//   WhatsApp's server ack and records `sent` before its next job (at most once); `sendMessage` resolves when the
//   stanza is written.
// - latency at a light load (each session one text a second, sessions staggered: no queueing on either side), from
//   asking and from the platform's 202 to the text at the phone.
// The contacts send delivered receipts only (see messaging-fleet.ts). Runs in a child process (child-run.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { rowsFromChild, serveRows } from './child-run.ts';
import { startMessagingFleet } from './messaging-fleet.ts';
import { burst, checkWholeNumbers, paced, settle, type Burst, type Latencies, type Side } from './messaging-runs.ts';
import { cpuSteal, percentile, warnOnSteal } from './stats.ts';
import type { Row } from './types.ts';

const SESSIONS = Number(process.env.BENCH_MESSAGING_SESSIONS ?? 20);
const PER_SESSION = Number(process.env.BENCH_MESSAGES_PER_SESSION ?? 50);
const ROUNDS = 2;
const PACE = { perSession: 5, intervalMs: 1000 };

async function measure(): Promise<Row[]> {
  checkWholeNumbers({ BENCH_MESSAGING_SESSIONS: SESSIONS, BENCH_MESSAGES_PER_SESSION: PER_SESSION });
  console.error(`messaging: linking ${SESSIONS} platform devices and ${SESSIONS} bare Baileys sockets through the simulator…`);
  const fleet = await startMessagingFleet({ sessions: SESSIONS, bareSessions: SESSIONS });
  try {
    let platformSent = 0;
    const after = async (side: Side, count: number) => {
      if (side === 'platform') await settle(fleet, (platformSent += count));
      else await sleep(500);
    };
    // One text per session first: Signal sessions with each contact are set up (a pre-key fetch each), and the
    // platform's send workers and Baileys' code paths are warm, on both sides alike.
    for (const side of ['baseline', 'platform'] as const) {
      await burst(fleet, side, `warm-up ${side}`, 1);
      await after(side, SESSIONS);
    }
    const bursts: Record<Side, Burst[]> = { platform: [], baseline: [] };
    const latencies: Record<Side, Latencies> = { platform: { asked: [], accepted: [] }, baseline: { asked: [], accepted: [] } };
    const steal = cpuSteal();
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of ['baseline', 'platform'] as const) {
        const result = await burst(fleet, side, `burst ${side} r${round}`, PER_SESSION);
        console.error(`messaging: ${side} burst ${round}: ${result.perS.toFixed(0)} messages/s, all taken after ${result.takenS.toFixed(2)} s, ${result.cpuMsPerMessage.toFixed(2)} ms CPU per message`);
        bursts[side].push(result);
        await after(side, SESSIONS * PER_SESSION);
      }
      for (const side of ['baseline', 'platform'] as const) {
        const result = await paced(fleet, side, `paced ${side} r${round}`, PACE);
        latencies[side].asked.push(...result.asked);
        latencies[side].accepted.push(...result.accepted);
        await after(side, SESSIONS * PACE.perSession);
      }
    }
    warnOnSteal('messaging', steal());

    const name = `messaging: ${SESSIONS} sessions, limits off, at the simulator (platform POST /send vs bare Baileys sendMessage loop)`;
    const median = (side: Side, pick: (b: Burst) => number) => percentile(bursts[side].map(pick), 0.5);
    const row = (metric: string, platform: number, baseline: number, unit: string, better: Row['better']): Row => ({
      name,
      metric,
      platform,
      baseline,
      unit,
      ratio: platform / baseline,
      better,
    });
    const pct = (side: Side, kind: keyof Latencies, p: number) => percentile(latencies[side][kind], p);
    const load = `${SESSIONS} msg/s`;
    return [
      row(`messages/s, ${PER_SESSION} per session, first request → last at a phone (median of ${ROUNDS})`, median('platform', (b) => b.perS), median('baseline', (b) => b.perS), 'msg/s', 'higher'),
      row('CPU per message in the burst (whole process: sender side + simulator)', median('platform', (b) => b.cpuMsPerMessage), median('baseline', (b) => b.cpuMsPerMessage), 'ms', 'lower'),
      row(`latency p50 at ${load}, asked (POST sent / sendMessage called) → at the phone`, pct('platform', 'asked', 0.5), pct('baseline', 'asked', 0.5), 'ms', 'lower'),
      row(`latency p99 at ${load}, asked → at the phone`, pct('platform', 'asked', 0.99), pct('baseline', 'asked', 0.99), 'ms', 'lower'),
      row(`latency p50 at ${load}, platform from its 202 (accepted) → at the phone`, pct('platform', 'accepted', 0.5), pct('baseline', 'accepted', 0.5), 'ms', 'lower'),
      row(`latency p99 at ${load}, platform from its 202 → at the phone`, pct('platform', 'accepted', 0.99), pct('baseline', 'accepted', 0.99), 'ms', 'lower'),
    ];
  } finally {
    await fleet.close();
  }
}

export default (): Promise<Row[]> => rowsFromChild(import.meta.filename, 'messaging', 10 * 60_000);

if (import.meta.main) await serveRows(measure);
