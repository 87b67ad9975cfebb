/**
 * One load for concurrent readers of the same key: a reader that arrives while a load of its
 * key is in flight gets that load's result (or its error) instead of starting another. Only for
 * data that cannot change between the two readers' arrivals (e.g. a sold-out envelope's details,
 * which are final): for live data a reader could otherwise miss a write it has just seen
 * acknowledged. Nothing is kept once the load settles; remembering results is the caller's.
 */
export class SharedReads<V> {
  private readonly inFlight = new Map<string, Promise<V>>();

  /** The in-flight load of `key` if there is one (`shared` true), else `load()`'s, shared until it settles. */
  read(key: string, load: () => Promise<V>): { value: Promise<V>; shared: boolean } {
    const running = this.inFlight.get(key);
    if (running) return { value: running, shared: true };
    const value = load().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, value);
    return { value, shared: false };
  }

  /** Loads in flight (for tests and metrics). */
  get size(): number {
    return this.inFlight.size;
  }
}
