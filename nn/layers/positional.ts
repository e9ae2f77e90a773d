// Positional encodings: RoPE (rotary, through kn.fast.rope) and the sinusoidal encoding.
import type { NDArray } from '../../core/array.js';
import { fmtShape, fmtValue } from '../../core/shape.js';
import { arange } from '../../ops/creation.js';
import { asArray } from '../../ops/convert.js';
import { cos, exp, multiply, sin } from '../../ops/elementwise.js';
import { rope } from '../../ops/fast/index.js';
import { concatenate } from '../../ops/shape.js';
import { expandDims } from '../../ops/views.js';
import { Module } from '../module.js';
import { finite, positiveInt } from './common.js';

export interface RoPEOptions {
  /** rotate interleaved pairs (x0, x1), (x2, x3) ... instead of the two halves (default false) */
  traditional?: boolean;
  /** base of the frequencies base^(-2i/dims) (default 10000) */
  base?: number;
  /** multiplies the positions (default 1) */
  scale?: number;
}

/**
 * Rotary positional encoding of the first `dims` features of x [..., L, D] (positions along
 * axis -2 start at `offset`, e.g. the length of a KV cache).
 * @example new kn.nn.RoPE(8).call(kn.random.normal([1, 4, 6, 8]), 3).shape // [1, 4, 6, 8]
 */
export class RoPE extends Module {
  readonly dims: number;
  readonly traditional: boolean;
  readonly base: number;
  readonly scale: number;
  constructor(dims: number, opts: RoPEOptions = {}) {
    super();
    this.dims = positiveInt(dims, 'RoPE', 'dims');
    if (dims % 2 !== 0) throw new Error(`[RoPE] dims must be even, got ${dims}`);
    this.traditional = opts.traditional ?? false;
    if (typeof this.traditional !== 'boolean') throw new TypeError(`[RoPE] traditional must be a boolean, got ${fmtValue(opts.traditional)}`);
    this.base = finite(opts.base ?? 10000, 'RoPE', 'base', { positive: true });
    this.scale = finite(opts.scale ?? 1, 'RoPE', 'scale');
  }
  forward(x: NDArray, offset = 0): NDArray {
    const a = asArray(x, 'RoPE');
    if (a.ndim < 2 || a.shape[a.ndim - 1] < this.dims)
      throw new Error(`[RoPE] expected input [..., L, D] with D >= ${this.dims}, got shape ${fmtShape(a.shape)}`);
    return rope(a, this.dims, { traditional: this.traditional, base: this.base, scale: this.scale, offset });
  }
  protected override describe(): string {
    return `${this.dims}, traditional=${this.traditional}, base=${this.base}, scale=${this.scale}`;
  }
}

export interface SinusoidalOptions {
  /** smallest frequency (default 1e-4) */
  minFreq?: number;
  /** largest frequency (default 1) */
  maxFreq?: number;
  /** multiplies the encoding (default √(2/dims)) */
  scale?: number;
  /** [cos, sin] instead of [sin, cos] (default false) */
  cosFirst?: boolean;
  /** frequencies in turns: multiply them by 2π (default false) */
  fullTurns?: boolean;
}

/**
 * MLX's SinusoidalPositionalEncoding: positions x [...] → [..., dims] with geometric frequencies
 * from maxFreq down to minFreq; the halves are sin and cos (or cos and sin).
 * @example new kn.nn.SinusoidalPositionalEncoding(8).call(kn.arange(4)).shape // [4, 8]
 */
export class SinusoidalPositionalEncoding extends Module {
  readonly dims: number;
  readonly scale: number;
  readonly cosFirst: boolean;
  readonly fullTurns: boolean;
  _sigmas: NDArray;
  constructor(dims: number, opts: SinusoidalOptions = {}) {
    super();
    this.dims = positiveInt(dims, 'SinusoidalPositionalEncoding', 'dims');
    if (dims % 2 !== 0) throw new Error(`[SinusoidalPositionalEncoding] dims must be even, got ${dims}`);
    const one = dims / 2;
    const minFreq = finite(opts.minFreq ?? 1e-4, 'SinusoidalPositionalEncoding', 'minFreq', { positive: true });
    const maxFreq = finite(opts.maxFreq ?? 1, 'SinusoidalPositionalEncoding', 'maxFreq', { positive: true });
    this.scale = finite(opts.scale ?? Math.sqrt(2 / dims), 'SinusoidalPositionalEncoding', 'scale');
    this.cosFirst = opts.cosFirst ?? false;
    this.fullTurns = opts.fullTurns ?? false;
    // sigma_i = maxFreq · (minFreq/maxFreq)^(i/(one−1)), as MLX
    const steps = one > 1 ? multiply(arange(one, 'float32'), Math.log(minFreq / maxFreq) / (one - 1)) : arange(one, 'float32');
    this._sigmas = multiply(exp(steps), maxFreq);
    if (this.fullTurns) this._sigmas = multiply(this._sigmas, 2 * Math.PI);
  }
  forward(x: NDArray): NDArray {
    const a = asArray(x, 'SinusoidalPositionalEncoding');
    const y = multiply(expandDims(a, -1), this._sigmas);
    const [c, s] = [cos(y), sin(y)];
    return multiply(concatenate(this.cosFirst ? [c, s] : [s, c], -1), this.scale);
  }
}
