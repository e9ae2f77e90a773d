// LoRA and DoRA wrappers around a frozen nn.Linear (mlx-lm's layout: `linear` holds the base layer,
// `lora_a` [in, r], `lora_b` [r, out], DoRA's magnitude `m` [out]); y = base(x) + scale·(x·A)·B.
// Dropout masks come from a key scoped by `withDropoutKey`, so a compiled training step can take
// its key as an input and stay reproducible.
import type { NDArray } from '../../core/array.js';
import { stopGradient } from '../../core/autograd.js';
import { add, astype, divide, multiply, sqrt, square } from '../../ops/elementwise.js';
import { matmul } from '../../ops/matmul.js';
import { bernoulli, split, uniform } from '../../ops/random.js';
import { sum } from '../../ops/reduce.js';
import { unstack } from '../../ops/shape.js';
import { swapaxes } from '../../ops/views.js';
import { where } from '../../ops/datadep.js';
import { zeros } from '../../ops/creation.js';
import { Linear, Module } from '../../nn/index.js';

let dropoutKey: NDArray | null = null;

/**
 * Runs `fn` with `key` as the source of LoRA dropout masks (each layer splits off its own).
 * @example
 * kn.models.lora.withDropoutKey(kn.random.key(0), () => 1 + 1) // 2
 */
export function withDropoutKey<T>(key: NDArray, fn: () => T): T {
  const prev = dropoutKey;
  dropoutKey = key;
  try {
    return fn();
  } finally {
    dropoutKey = prev;
  }
}

function dropout(x: NDArray, p: number, training: boolean, op: string): NDArray {
  if (!training || p === 0) return x;
  if (dropoutKey === null) throw new Error(`[${op}] dropout ${p} in training needs a key: run the forward pass inside kn.models.lora.withDropoutKey(key, fn)`);
  const [next, sub] = unstack(split(dropoutKey, 2));
  dropoutKey = next;
  return where(bernoulli(1 - p, x.shape, { key: sub }), multiply(x, 1 / (1 - p)), 0);
}

export interface LoRAOptions {
  /** rank r (default 8) */
  rank?: number;
  /** multiplier of the low-rank update (default 20, mlx-lm's) */
  scale?: number;
  /** dropout on the adapter's input in training (default 0) */
  dropout?: number;
  /** key for lora_a's initialisation */
  key?: NDArray;
}

function checkOpts(o: LoRAOptions, op: string): Required<Omit<LoRAOptions, 'key'>> {
  const rank = o.rank ?? 8,
    scale = o.scale ?? 20,
    p = o.dropout ?? 0;
  if (!Number.isInteger(rank) || rank < 1) throw new Error(`[${op}] rank must be a positive integer, got ${rank}`);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new Error(`[${op}] scale must be a finite number, got ${scale}`);
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new Error(`[${op}] dropout must be in [0, 1), got ${p}`);
  return { rank, scale, dropout: p };
}

/** The base layer's dense weight [out, in] (a quantized base, nn.QuantizedLinear, is dequantized). */
export function denseWeight(linear: Module): NDArray {
  const l = linear as unknown as { weight: NDArray; toLinear?: () => { weight: NDArray } };
  return isQuantized(linear) ? l.toLinear!().weight : l.weight;
}

/** Whether a base layer is quantized (nn.QuantizedLinear: packed weight, groupSize, bits, toLinear). */
export function isQuantized(linear: Module): boolean {
  const l = linear as unknown as { bits?: unknown; groupSize?: unknown; toLinear?: unknown };
  return typeof l.bits === 'number' && typeof l.groupSize === 'number' && typeof l.toLinear === 'function';
}

/** A fused dense layer, quantized again like `base` when base was quantized (unless `dequantize`). */
function requantizeLike(base: Module, fused: Linear, dequantize: boolean): Module {
  if (dequantize || !isQuantized(base)) return fused;
  const q = base as unknown as { bits: number; groupSize: number; constructor: { fromLinear(l: Linear, p: object): Module } };
  return q.constructor.fromLinear(fused, { groupSize: q.groupSize, bits: q.bits });
}

function dims(linear: Module): [number, number] {
  const l = linear as unknown as { weight: NDArray; inputDims?: number; outputDims?: number };
  if (l.inputDims !== undefined && l.outputDims !== undefined) return [l.inputDims, l.outputDims];
  return [l.weight.shape[1], l.weight.shape[0]];
}

/**
 * A Linear plus a trainable low-rank update; the base layer stays frozen.
 * @example
 * const l = kn.models.lora.LoRALinear.fromBase(new kn.nn.Linear(4, 3, { key: kn.random.key(0) }), { rank: 2, key: kn.random.key(1) });
 * kn.tree.flatten(l.trainableParameters()).map(([k]) => k) // ['lora_a', 'lora_b']
 */
export class LoRALinear extends Module {
  linear: Module;
  lora_a: NDArray;
  lora_b: NDArray;
  readonly scale: number;
  readonly dropoutP: number;

  constructor(linear: Module, opts: LoRAOptions = {}) {
    super();
    const o = checkOpts(opts, this.constructor.name);
    const [inDims, outDims] = dims(linear);
    this.linear = linear;
    const s = 1 / Math.sqrt(inDims);
    this.lora_a = uniform(-s, s, [inDims, o.rank], { ...(opts.key ? { key: opts.key } : {}) });
    this.lora_b = zeros([o.rank, outDims]);
    this.scale = o.scale;
    this.dropoutP = o.dropout;
    linear.freeze();
  }

  /** Wraps `linear` (a Linear or quantized Linear). */
  static fromBase(linear: Module, opts: LoRAOptions = {}): LoRALinear {
    return new LoRALinear(linear, opts);
  }

  /** scale · Bᵀ·Aᵀ as [out, in] (the update a merge adds to the weight). */
  delta(): NDArray {
    return multiply(matmul(swapaxes(this.lora_b, 0, 1), swapaxes(this.lora_a, 0, 1)), this.scale);
  }

  protected lowRank(x: NDArray): NDArray {
    const z = matmul(matmul(dropout(x, this.dropoutP, this.training, this.constructor.name), this.lora_a), this.lora_b);
    return multiply(z, this.scale);
  }

  forward(x: NDArray): NDArray {
    const y = (this.linear as unknown as { call(x: NDArray): NDArray }).call(x);
    return add(y, astype(this.lowRank(x), y.dtype));
  }

  /**
   * The base layer with the update merged into its weight: a Linear, or for a quantized base the
   * merged weight quantized again with its group size and bits (dense with `dequantize`).
   */
  fuse(opts: { dequantize?: boolean } = {}): Module {
    const w = denseWeight(this.linear);
    const merged = astype(add(astype(w, 'float32'), this.delta()), isQuantized(this.linear) ? 'float32' : w.dtype);
    return requantizeLike(this.linear, plainLinear(merged, (this.linear as unknown as { bias?: NDArray }).bias), opts.dequantize ?? false);
  }
}

/**
 * DoRA: the LoRA-updated weight's rows renormalised to a trained magnitude m (the norm is not
 * differentiated, as in the DoRA paper, PEFT and mlx-lm).
 * @example
 * const l = new kn.models.lora.DoRALinear(new kn.nn.Linear(4, 3, { key: kn.random.key(0) }), { rank: 2, key: kn.random.key(1) });
 * l.m.shape // [3]
 */
export class DoRALinear extends LoRALinear {
  m: NDArray;
  constructor(linear: Module, opts: LoRAOptions = {}) {
    super(linear, opts);
    this.m = rowNorm(astype(denseWeight(linear), 'float32'));
  }

  /** The adapted weight W + scale·Bᵀ·Aᵀ (float32). */
  adapted(): NDArray {
    return add(astype(denseWeight(this.linear), 'float32'), this.delta());
  }

  override forward(x: NDArray): NDArray {
    const base = this.linear as unknown as { call(x: NDArray): NDArray; bias?: NDArray };
    let y = base.call(x);
    if (base.bias) y = add(y, multiply(base.bias, -1));
    const out = add(y, astype(this.lowRank(x), y.dtype));
    const factor = divide(this.m, stopGradient(rowNorm(this.adapted())));
    const r = multiply(out, astype(factor, out.dtype));
    return base.bias ? add(r, base.bias) : r;
  }

  override fuse(opts: { dequantize?: boolean } = {}): Module {
    const w = denseWeight(this.linear);
    const a = this.adapted();
    const merged = multiply(a, swapaxes(divide(this.m, rowNorm(a)).reshape([1, -1]), 0, 1));
    const fused = plainLinear(astype(merged, isQuantized(this.linear) ? 'float32' : w.dtype), (this.linear as unknown as { bias?: NDArray }).bias);
    return requantizeLike(this.linear, fused, opts.dequantize ?? false);
  }
}

const rowNorm = (w: NDArray): NDArray => sqrt(sum(square(w), 1));

function plainLinear(weight: NDArray, bias: NDArray | undefined): Linear {
  const l = new Linear(weight.shape[1], weight.shape[0], { bias: bias !== undefined });
  l.weight = weight;
  if (bias) l.bias = bias;
  return l;
}
