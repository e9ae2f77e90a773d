// The finalizer safety net (DESIGN.md §2), batched. Registering with a FinalizationRegistry costs
// more than building a small op (issue 17), and most objects of a tidy scope, an explicit dispose
// or one evaluation die young: new objects wait in a batch, registered when it fills or the event
// loop turns, and one whose `held` is null by then (already freed) is never registered at all.
const BATCH = 256;

export class SafetyNet<T extends object, H> {
  readonly #registry: FinalizationRegistry<H>;
  #pending: T[] = [];
  #scheduled = false;
  constructor(
    cleanup: (held: H) => void,
    /** what the finalizer needs once `t` is collected, or null when nothing is left to free */
    private readonly held: (t: T) => H | null,
    /** an unregister token for `t` (needed only for objects that may later be freed by hand) */
    private readonly token: (t: T) => object | undefined = () => undefined,
  ) {
    this.#registry = new FinalizationRegistry(cleanup);
  }
  /** Queues `t` for registration; call `unregister` if it is freed by hand after registering. */
  add(t: T): void {
    if (this.#pending.push(t) >= BATCH) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush()).unref();
    }
  }
  /** Registers the queued objects that still hold something; returns nothing. */
  flush(): void {
    const list = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    for (const t of list) {
      const h = this.held(t);
      if (h !== null) this.#registry.register(t, h, this.token(t));
    }
  }
  unregister(token: object): void {
    this.#registry.unregister(token);
  }
}
