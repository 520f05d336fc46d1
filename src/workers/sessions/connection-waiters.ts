// Work in a session's process that needs its socket logged in (the sender, while a session connects or is taken
// over) is woken the moment it is, rather than finding out at its next recheck.
export class ConnectionWaiters<T> {
  readonly #waiting = new Set<(value: T | undefined) => void>();

  // `now` when there is one; else what `wake` hands over within `timeoutMs`; else undefined.
  wait(now: T | undefined, timeoutMs: number): Promise<T | undefined> {
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = (value: T | undefined) => {
        clearTimeout(timer);
        this.#waiting.delete(done);
        resolve(value);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.#waiting.add(done);
    });
  }

  // Connected (a value), or stopped for good (undefined: waiters give up at once).
  wake(value: T | undefined): void {
    for (const done of [...this.#waiting]) done(value);
  }
}
