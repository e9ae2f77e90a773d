// The paged KV store: per layer one keys and one values array of shape [slots, nKvHeads * headDim]
// (slot = block * blockSize + position in block). New rows are written with one scatter per layer
// and step, which the evaluator performs in place (the old pool array is dead once replaced: see
// models/cache.ts); attention reads a sequence's context by gathering its slots (block table ->
// slot ids), so blocks need not be contiguous and full blocks can be shared between sequences.
import { NDArray } from '../../core/array.js';
import { evaluate, keep } from '../../core/memory.js';
import { Scatter } from '../../core/primitives.js';
import type { DType } from '../../core/dtype.js';
import { zeros } from '../../ops/creation.js';
import { astype } from '../../ops/elementwise.js';
import { make } from '../../ops/make.js';
import { take } from '../../ops/take_scatter.js';
import { broadcastTo, reshape } from '../../ops/views.js';

/** Keys and values of every layer over a pool of `numBlocks * blockSize` token slots. */
export class PagedKV {
  readonly numLayers: number;
  readonly slots: number;
  /** nKvHeads * headDim */
  readonly width: number;
  readonly dtype: DType;
  #k: NDArray[];
  #v: NDArray[];

  constructor(numLayers: number, slots: number, width: number, dtype: DType) {
    this.numLayers = numLayers;
    this.slots = slots;
    this.width = width;
    this.dtype = dtype;
    this.#k = Array.from({ length: numLayers }, () => keep(zeros([slots, width], dtype)));
    this.#v = Array.from({ length: numLayers }, () => keep(zeros([slots, width], dtype)));
    evaluate(this.#k, this.#v);
  }

  /** Bytes of one token slot over all layers (keys and values). */
  static bytesPerSlot(numLayers: number, width: number, itemSize: number): number {
    return numLayers * 2 * width * itemSize;
  }

  #scatter(pool: NDArray, slots: NDArray, rows: NDArray): NDArray {
    const N = slots.shape[0],
      F = this.width;
    const base = reshape(pool, [1, this.slots, F]);
    const s3 = reshape(slots, [1, N, 1]);
    const idx = broadcastTo(s3, [1, N, F]);
    const r0 = rows.dtype === this.dtype ? rows : astype(rows, this.dtype);
    const u = reshape(r0, [1, N, F]);
    const out = make(Scatter, { mode: 0 }, [base, idx, u], [1, this.slots, F], this.dtype);
    const res = keep(reshape(out, [this.slots, F]));
    // no handle may stay on the old pool, or the scatter could not write over it in place
    for (const t of [base, s3, idx, u, out]) t.dispose();
    if (r0 !== rows) r0.dispose();
    pool.dispose();
    return res;
  }

  /** Writes keys/values rows [N, width] of `layer` at slot ids `slots` (int32 [N]). */
  write(layer: number, slots: NDArray, keys: NDArray, values: NDArray): void {
    this.#k[layer] = this.#scatter(this.#k[layer], slots, keys);
    this.#v[layer] = this.#scatter(this.#v[layer], slots, values);
  }

  /** Keys and values [M, width] of `layer` at slot ids `slots` (int32 [M]). */
  gather(layer: number, slots: NDArray): [NDArray, NDArray] {
    return [take(this.#k[layer], slots, 0), take(this.#v[layer], slots, 0)];
  }

  /** The pool arrays (evaluate them with each step's outputs). */
  get state(): NDArray[] {
    return [...this.#k, ...this.#v];
  }

  /** Bytes held by the pool. */
  get bytes(): number {
    return this.#k.reduce((s, a) => s + a.nbytes * 2, 0);
  }

  dispose(): void {
    for (const a of [...this.#k, ...this.#v]) a.dispose();
    this.#k = [];
    this.#v = [];
  }
}
