// A least-recently-used map with a size bound; evicted values are released (native programs,
// constant buffers). One instance holds every compiled function's traces, so training with
// varying shapes cannot grow it without bound.
export class LRU<V> {
  #map = new Map<string, V>();
  constructor(
    public limit: number,
    private readonly release: (v: V) => void,
  ) {}

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  set(key: string, v: V): void {
    const old = this.#map.get(key);
    if (old !== undefined && old !== v) this.release(old);
    this.#map.delete(key);
    this.#map.set(key, v);
    this.trim();
  }

  setLimit(limit: number): void {
    this.limit = limit;
    this.trim();
  }

  trim(): void {
    while (this.#map.size > this.limit) {
      const [k, v] = this.#map.entries().next().value as [string, V];
      this.#map.delete(k);
      this.release(v);
    }
  }

  clear(): void {
    const vs = [...this.#map.values()];
    this.#map.clear();
    for (const v of vs) this.release(v);
  }

  values(): IterableIterator<V> {
    return this.#map.values();
  }
}
