// Quantized layers in MLX's layout (weight uint32 packed words, scales, biases) and nn.quantize,
// which swaps a model's Linear and Embedding layers for them in place.
import type { NDArray } from '../../core/array.js';
import { isInteger } from '../../core/dtype.js';
import { fmtShape, fmtValue } from '../../core/shape.js';
import { asArray } from '../../ops/convert.js';
import { add } from '../../ops/elementwise.js';
import { dequantize, quantize, quantizedMatmul, QUANT_BITS, QUANT_GROUP_SIZES } from '../../ops/quantized.js';
import { take } from '../../ops/take_scatter.js';
import { Module } from '../module.js';
import { Embedding } from './embedding.js';
import { Linear } from './linear.js';

/** Quantization parameters of one layer (MLX's config.json spells them group_size and bits). */
export interface QuantParams {
  groupSize?: number;
  bits?: number;
}

function params(op: string, p: QuantParams = {}): { groupSize: number; bits: number } {
  const groupSize = p.groupSize ?? 64,
    bits = p.bits ?? 4;
  if (!QUANT_GROUP_SIZES.includes(groupSize))
    throw new RangeError(`[${op}] groupSize must be one of ${QUANT_GROUP_SIZES.join(', ')}, got ${fmtValue(groupSize)}`);
  if (!QUANT_BITS.includes(bits)) throw new RangeError(`[${op}] bits must be one of ${QUANT_BITS.join(', ')}, got ${fmtValue(bits)}`);
  return { groupSize, bits };
}

/**
 * y = x·dequantize(W)ᵀ + b with W stored quantized: `weight` uint32 [outputDims, inputDims*bits/32],
 * `scales` and `biases` [outputDims, inputDims/groupSize] (MLX's QuantizedLinear; the same
 * parameter names, so MLX checkpoints load into it). Its parameters are frozen: gradients flow
 * to the input only (train adapters around it, as QLoRA does).
 * @example
 * const lin = new kn.nn.Linear(64, 8, { key: kn.random.key(1) });
 * const q = kn.nn.QuantizedLinear.fromLinear(lin, { bits: 8 });
 * q.weight.shape // [8, 16]
 * kn.allclose(q.call(kn.ones([2, 64])), lin.call(kn.ones([2, 64])), { atol: 0.02 }) // true
 */
export class QuantizedLinear extends Module {
  weight: NDArray;
  scales: NDArray;
  biases: NDArray;
  bias?: NDArray;
  readonly groupSize: number;
  readonly bits: number;

  /** From packed parts (e.g. loaded from a checkpoint); see `fromLinear` to quantize a float layer. */
  constructor(weight: NDArray, scales: NDArray, biases: NDArray, bias: NDArray | undefined, p: QuantParams = {}) {
    super();
    const { groupSize, bits } = params('QuantizedLinear', p);
    this.groupSize = groupSize;
    this.bits = bits;
    this.weight = weight;
    this.scales = scales;
    this.biases = biases;
    if (bias) this.bias = bias;
    // checks the shapes now rather than at the first call
    dequantizeCheck('QuantizedLinear', weight, scales, biases, groupSize, bits);
    this.freeze();
  }

  /** Quantizes a Linear layer's weight (its bias stays float). */
  static fromLinear(lin: Linear, p: QuantParams = {}): QuantizedLinear {
    const { groupSize, bits } = params('QuantizedLinear', p);
    const { wq, scales, biases } = quantize(lin.weight, { groupSize, bits });
    return new QuantizedLinear(wq, scales, biases, lin.bias, { groupSize, bits });
  }

  get inputDims(): number {
    return (this.weight.shape[1] * 32) / this.bits;
  }
  get outputDims(): number {
    return this.weight.shape[0];
  }

  forward(x: NDArray): NDArray {
    const a = asArray(x, 'QuantizedLinear');
    if (a.ndim < 1 || a.shape[a.ndim - 1] !== this.inputDims)
      throw new Error(`[QuantizedLinear] expected input with last dimension ${this.inputDims}, got shape ${fmtShape(a.shape)}`);
    const y = quantizedMatmul(a, this.weight, this.scales, this.biases, { groupSize: this.groupSize, bits: this.bits, transpose: true });
    return this.bias ? add(y, this.bias) : y;
  }

  /** The float layer this one stands for (its dequantized weight). */
  toLinear(): Linear {
    const lin = new Linear(this.inputDims, this.outputDims, { bias: this.bias !== undefined });
    lin.weight = dequantize(this.weight, this.scales, this.biases, { groupSize: this.groupSize, bits: this.bits });
    if (this.bias) lin.bias = this.bias;
    return lin;
  }

  protected override describe(): string {
    return `inputDims=${this.inputDims}, outputDims=${this.outputDims}, bias=${this.bias !== undefined}, groupSize=${this.groupSize}, bits=${this.bits}`;
  }
}

function dequantizeCheck(op: string, w: NDArray, s: NDArray, b: NDArray, groupSize: number, bits: number): void {
  if (w.ndim !== 2) throw new Error(`[${op}] weight must be 2-d uint32 packed words, got shape ${fmtShape(w.shape)}`);
  try {
    dequantize(w, s, b, { groupSize, bits });
  } catch (e) {
    throw new Error(`[${op}] ${(e as Error).message}`);
  }
}

/**
 * An Embedding whose table is stored quantized (MLX's QuantizedEmbedding): looking up ids
 * dequantizes only their rows; `asLinear` scores hidden states against the whole table with the
 * quantized product (a tied output head reads the packed table once per token).
 * @example
 * const e = new kn.nn.Embedding(16, 64, { key: kn.random.key(2) });
 * const q = kn.nn.QuantizedEmbedding.fromEmbedding(e, { bits: 8 });
 * q.call(kn.array([[3, 5]])).shape // [1, 2, 64]
 * q.asLinear(kn.ones([1, 64])).shape // [1, 16]
 */
export class QuantizedEmbedding extends Module {
  weight: NDArray;
  scales: NDArray;
  biases: NDArray;
  readonly groupSize: number;
  readonly bits: number;

  constructor(weight: NDArray, scales: NDArray, biases: NDArray, p: QuantParams = {}) {
    super();
    const { groupSize, bits } = params('QuantizedEmbedding', p);
    this.groupSize = groupSize;
    this.bits = bits;
    this.weight = weight;
    this.scales = scales;
    this.biases = biases;
    dequantizeCheck('QuantizedEmbedding', weight, scales, biases, groupSize, bits);
    this.freeze();
  }

  static fromEmbedding(e: Embedding, p: QuantParams = {}): QuantizedEmbedding {
    const { groupSize, bits } = params('QuantizedEmbedding', p);
    const { wq, scales, biases } = quantize(e.weight, { groupSize, bits });
    return new QuantizedEmbedding(wq, scales, biases, { groupSize, bits });
  }

  get numEmbeddings(): number {
    return this.weight.shape[0];
  }
  get dims(): number {
    return (this.weight.shape[1] * 32) / this.bits;
  }

  forward(ids: NDArray): NDArray {
    const x = asArray(ids, 'QuantizedEmbedding');
    if (!isInteger(x.dtype)) throw new TypeError(`[QuantizedEmbedding] ids must be integers, got dtype ${x.dtype}`);
    const o = { groupSize: this.groupSize, bits: this.bits };
    return dequantize(take(this.weight, x, 0), take(this.scales, x, 0), take(this.biases, x, 0), o);
  }

  /** x·dequantize(weight)ᵀ without expanding the table (tied output head). */
  asLinear(x: NDArray): NDArray {
    const a = asArray(x, 'QuantizedEmbedding.asLinear');
    if (a.ndim < 1 || a.shape[a.ndim - 1] !== this.dims)
      throw new Error(`[QuantizedEmbedding.asLinear] expected x with last dimension ${this.dims}, got shape ${fmtShape(a.shape)}`);
    return quantizedMatmul(a, this.weight, this.scales, this.biases, { groupSize: this.groupSize, bits: this.bits, transpose: true });
  }

  /** The float Embedding this one stands for. */
  toEmbedding(): Embedding {
    const e = new Embedding(this.numEmbeddings, this.dims);
    e.weight = dequantize(this.weight, this.scales, this.biases, { groupSize: this.groupSize, bits: this.bits });
    return e;
  }

  protected override describe(): string {
    return `numEmbeddings=${this.numEmbeddings}, dims=${this.dims}, groupSize=${this.groupSize}, bits=${this.bits}`;
  }
}

/**
 * Says whether (and how) the module at `path` is quantized: false/undefined skips it, true uses
 * the defaults, an object overrides groupSize/bits for that layer.
 */
export type ClassPredicate = (path: string, module: Module) => boolean | QuantParams | undefined;

export interface QuantizeModelOptions extends QuantParams {
  /** which layers to quantize (default: every Linear and Embedding whose input dim is a multiple of groupSize) */
  classPredicate?: ClassPredicate;
}

/** A layer's own quantization parameters, where a predicate answered with an object. */
export type QuantizedLayers = Map<string, { groupSize: number; bits: number }>;

/**
 * Replaces the model's Linear and Embedding layers by QuantizedLinear / QuantizedEmbedding in
 * place (MLX's nn.quantize) and returns the paths quantized with their parameters. Layers whose
 * input dimension is not a multiple of the group size stay float, as in MLX.
 * @example
 * const m = new kn.nn.Sequential(new kn.nn.Linear(64, 64), new kn.nn.ReLU(), new kn.nn.Linear(64, 10));
 * [...kn.nn.quantize(m, { bits: 8, classPredicate: (p) => p !== 'layers.2' }).keys()] // ['layers.0']
 * m.layers[0].constructor.name // 'QuantizedLinear'
 */
export function quantizeModel(model: Module, opts: QuantizeModelOptions = {}): QuantizedLayers {
  if (!(model instanceof Module)) throw new TypeError(`[nn.quantize] model must be an nn.Module, got ${fmtValue(model)}`);
  const base = params('nn.quantize', opts);
  const pred = opts.classPredicate;
  if (pred !== undefined && typeof pred !== 'function')
    throw new TypeError('[nn.quantize] classPredicate must be a function (path, module) => boolean | { groupSize, bits }');
  const done: QuantizedLayers = new Map();
  const swaps: [string, Module][] = [];
  for (const [path, m] of model.namedModules()) {
    if (!(m instanceof Linear) && !(m instanceof Embedding)) continue;
    const answer = pred ? pred(path, m) : true;
    if (!answer) continue;
    const p = typeof answer === 'object' ? params(`nn.quantize] [${path}`, { ...base, ...answer }) : base;
    if (m.weight.shape[m.weight.ndim - 1] % p.groupSize !== 0) continue;
    const q = m instanceof Linear ? QuantizedLinear.fromLinear(m, p) : QuantizedEmbedding.fromEmbedding(m, p);
    if (path === '') throw new Error('[nn.quantize] the model itself is a Linear/Embedding: use QuantizedLinear.fromLinear instead');
    swaps.push([path, q]);
    done.set(path, p);
  }
  for (const [path, q] of swaps) replaceModule(model, path, q);
  return done;
}

/**
 * Puts `value` at the dotted module path of `root` (`model.layers.0.mlp.up_proj`), replacing the
 * layer there (updateModules replaces whole modules, not layers nested inside them).
 */
export function replaceModule(root: Module, path: string, value: Module): void {
  const parts = path.split('.');
  let t = root as unknown as Record<string, unknown>;
  for (const k of parts.slice(0, -1)) {
    const next = t[k];
    if (next === null || typeof next !== 'object') throw new Error(`[nn.quantize] no module at '${path}' (stopped at '${k}')`);
    t = next as Record<string, unknown>;
  }
  const last = parts[parts.length - 1];
  if (!(t[last] instanceof Module)) throw new Error(`[nn.quantize] '${path}' is not a module`);
  t[last] = value;
}
