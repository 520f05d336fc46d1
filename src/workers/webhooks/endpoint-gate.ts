import type { Coordination } from '../../coordination/coordination.ts';

// Per-endpoint limits across every worker process, so one slow or dead receiver never holds the shared queue's
// slots: at most `concurrency` requests in flight to an endpoint and, when it has a rate limit, at most that many
// started per second. A slot lapses by itself if its holder dies.
export class EndpointGate {
  readonly #coordination: Coordination;
  readonly #leaseMs: number;

  constructor(coordination: Coordination, leaseMs: number) {
    this.#coordination = coordination;
    this.#leaseMs = leaseMs;
  }

  // A release function when a slot was free, undefined when the endpoint is at its limit now.
  async acquire(endpointId: string, concurrency: number, perSecond: number | null): Promise<(() => Promise<void>) | undefined> {
    const key = `webhook-slots:${endpointId}`;
    const token = await this.#coordination.acquireSlot(key, concurrency, this.#leaseMs, perSecond ?? 0);
    if (token === undefined) return undefined;
    return () => this.#coordination.releaseSlot(key, token);
  }
}
