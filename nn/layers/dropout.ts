// Dropout layers: in training, zero elements (or whole channels) with probability p and scale the
// rest by 1/(1 − p); identity in eval mode. Masks come from kn.random with, in order of
// preference, the key passed to the call, the module's own key (split at each call), or the
// global key sequence.
import type { NDArray } from '../../core/array.js';
import { fmtShape, fmtValue } from '../../core/shape.js';
import { asArray } from '../../ops/convert.js';
import { multiply, where } from '../../ops/elementwise.js';
import { bernoulli, split } from '../../ops/random.js';
import { unstack } from '../../ops/shape.js';
import { Module } from '../module.js';
import { keepState } from './common.js';
import { compileTracing } from '../../core/compile/trace.js';

export interface DropoutOptions {
  /** a key the module keeps and splits at every call (reproducible masks without passing keys) */
  key?: NDArray;
}

abstract class DropoutBase extends Module {
  readonly p: number;
  #key: NDArray | undefined;
  /** whether #key was split off here (the user's own key is never disposed) */
  #ownsKey = false;

  constructor(p: number, opts: DropoutOptions, op: string) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new Error(`[${op}] p must be in [0, 1), got ${fmtValue(p)}`);
    this.p = p;
    this.#key = opts.key;
  }

  /** Which axes of x share one mask value (size 1 in the mask shape). */
  protected abstract maskShape(x: NDArray): number[];

  #nextKey(callKey: NDArray | undefined): NDArray | undefined {
    if (callKey !== undefined) return callKey;
    if (this.#key === undefined) return undefined;
    // the module's key is private state a compiled replay would not advance
    if (compileTracing())
      throw new Error(
        `[${this.constructor.name}] inside kn.compile pass the mask key to each call (layer.call(x, { key })) and carry it in the compiled function's inputs/outputs: the layer's own key would repeat the trace's mask`,
      );
    const [next, sub] = unstack(split(this.#key, 2));
    if (this.#ownsKey) this.#key.dispose();
    this.#key = keepState(next);
    this.#ownsKey = true;
    return sub;
  }

  forward(x: NDArray, opts: { key?: NDArray } = {}): NDArray {
    const a = asArray(x, this.constructor.name);
    if (!this.training || this.p === 0) return a;
    const keep = bernoulli(1 - this.p, this.maskShape(a), { key: this.#nextKey(opts.key) });
    return where(keep, multiply(a, 1 / (1 - this.p)), 0);
  }

  protected override describe(): string {
    return `p=${this.p}`;
  }
}

/**
 * Element-wise dropout.
 * @example
 * // each element is zeroed with probability p, the rest scaled by 1 / (1 - p)
 * new kn.nn.Dropout(0.5, { key: kn.random.key(0) }).call(kn.ones([6])) // [2, 2, 2, 0, 2, 2]
 */
export class Dropout extends DropoutBase {
  constructor(p = 0.5, opts: DropoutOptions = {}) {
    super(p, opts, 'Dropout');
  }
  protected maskShape(x: NDArray): number[] {
    return x.shape;
  }
}

/**
 * Channel dropout for channels-last images [N, H, W, C] or [H, W, C]: whole channels are dropped.
 * @example
 * const y = new kn.nn.Dropout2d(0.5, { key: kn.random.key(0) }).call(kn.ones([2, 2, 4]));
 * kn.mean(y, [0, 1]) // [0, 2, 2, 0]
 */
export class Dropout2d extends DropoutBase {
  constructor(p = 0.5, opts: DropoutOptions = {}) {
    super(p, opts, 'Dropout2d');
  }
  protected maskShape(x: NDArray): number[] {
    if (x.ndim !== 3 && x.ndim !== 4) throw new Error(`[Dropout2d] expected [N, H, W, C] or [H, W, C], got shape ${fmtShape(x.shape)}`);
    const s = x.shape;
    s[s.length - 2] = s[s.length - 3] = 1;
    return s;
  }
}

/**
 * Channel dropout for channels-last volumes [N, D, H, W, C] or [D, H, W, C].
 * @example
 * const y = new kn.nn.Dropout3d(0.5, { key: kn.random.key(0) }).call(kn.ones([2, 2, 2, 4]));
 * kn.mean(y, [0, 1, 2]) // [0, 2, 2, 0]
 */
export class Dropout3d extends DropoutBase {
  constructor(p = 0.5, opts: DropoutOptions = {}) {
    super(p, opts, 'Dropout3d');
  }
  protected maskShape(x: NDArray): number[] {
    if (x.ndim !== 4 && x.ndim !== 5) throw new Error(`[Dropout3d] expected [N, D, H, W, C] or [D, H, W, C], got shape ${fmtShape(x.shape)}`);
    const s = x.shape;
    s[s.length - 2] = s[s.length - 3] = s[s.length - 4] = 1;
    return s;
  }
}
