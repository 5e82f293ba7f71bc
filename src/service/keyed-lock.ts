/**
 * Runs actions one at a time per key, in the order they were asked for; actions on different keys
 * run side by side. A failed action does not stop the ones queued after it.
 */
export class KeyedLock {
  /** Per key: the last action queued, settled (it never rejects). */
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, action: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const run = previous.then(action, action);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return run;
  }

  /** Settles once every action queued so far has (actions queued later are not waited for). */
  idle(): Promise<unknown> {
    return Promise.allSettled([...this.tails.values()]);
  }
}
