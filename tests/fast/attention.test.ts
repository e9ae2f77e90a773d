// kn.fast.scaledDotProductAttention: the native kernel and the composed fallback against a
// float64 reference for grouped-query heads, causal / bool / additive masks, several key and
// query blocks, every float dtype and input layout, edge sizes and errors.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { Attention, attentionArgs, attentionComposed, type AttentionOptions } from '../../ops/fast/attention.js';
import { FLOATS, LAYOUTS, expectClose, makeInput, normals, rng, values, type Layout } from './helpers.js';
import { attentionRef, type AttentionRef } from './reference.js';

type Dims = AttentionRef['dims'];
type MaskSpec = null | 'causal' | { bool: boolean; shape: number[] };

interface Case {
  dims: Dims;
  mask: MaskSpec;
  scale?: number;
}

const CASES: Case[] = [
  { dims: { B: 2, Hq: 4, Hkv: 2, L: 37, S: 70, D: 16, Dv: 24 }, mask: null },
  { dims: { B: 2, Hq: 4, Hkv: 2, L: 37, S: 70, D: 16, Dv: 24 }, mask: 'causal', scale: 0.3 },
  { dims: { B: 1, Hq: 2, Hkv: 2, L: 70, S: 130, D: 20, Dv: 8 }, mask: 'causal' },
  { dims: { B: 2, Hq: 4, Hkv: 2, L: 37, S: 70, D: 16, Dv: 24 }, mask: { bool: true, shape: [37, 70] } },
  { dims: { B: 2, Hq: 4, Hkv: 2, L: 37, S: 70, D: 16, Dv: 24 }, mask: { bool: false, shape: [4, 1, 70] } },
  { dims: { B: 1, Hq: 8, Hkv: 1, L: 1, S: 100, D: 32, Dv: 32 }, mask: null }, // decode, multi-query
  { dims: { B: 1, Hq: 2, Hkv: 1, L: 6, S: 3, D: 8, Dv: 8 }, mask: 'causal' }, // rows 0-2 see no key
  { dims: { B: 2, Hq: 3, Hkv: 3, L: 5, S: 9, D: 4, Dv: 4 }, mask: { bool: true, shape: [2, 3, 5, 9] } },
  // at most 4 query rows per kv head take the dot-product path; Dv = 16 reads f32 v in place
  { dims: { B: 2, Hq: 4, Hkv: 2, L: 2, S: 150, D: 24, Dv: 16 }, mask: 'causal' },
  { dims: { B: 1, Hq: 4, Hkv: 4, L: 1, S: 100, D: 32, Dv: 32 }, mask: { bool: false, shape: [1, 4, 1, 100] } },
  // GQA decode: 6 and 12 query rows per kv head share one transposed K block (8x8 transposes
  // with D and the last block's key count not multiples of 8)
  { dims: { B: 2, Hq: 12, Hkv: 2, L: 1, S: 77, D: 20, Dv: 16 }, mask: null },
  { dims: { B: 1, Hq: 12, Hkv: 1, L: 1, S: 141, D: 64, Dv: 64 }, mask: 'causal' },
];

function build(c: Case, dtype: kn.DType, layout: Layout, seed: number) {
  const { B, Hq, Hkv, L, S, D, Dv } = c.dims;
  const rand = rng(seed);
  const q = makeInput([B, Hq, L, D], dtype, layout, rand);
  const k = makeInput([B, Hkv, S, D], dtype, layout, rand);
  const v = makeInput([B, Hkv, S, Dv], dtype, layout, rand);
  let mask: AttentionOptions['mask'] = null;
  let refMask: AttentionRef['mask'] = null;
  if (c.mask === 'causal') mask = refMask = 'causal';
  else if (c.mask) {
    const n = c.mask.shape.reduce((a, b) => a * b, 1);
    const raw = normals(n, rand, 2);
    // bool masks keep most keys (and drop some whole rows in the full-shape case)
    mask = c.mask.bool
      ? kn
          .array(Array.from(raw, (x, i) => x > -1.2 && !(c.mask !== null && c.mask !== 'causal' && c.mask.shape.length === 4 && i % 45 < 9)))
          .reshape(c.mask.shape)
      : kn.array(raw, 'float32').reshape(c.mask.shape);
    refMask = { bool: c.mask.bool, values: values(kn.broadcastTo(mask, [B, Hq, L, S])) };
  }
  const scale = c.scale ?? 1 / Math.sqrt(D);
  return { q, k, v, mask, ref: attentionRef({ q: q.vals, k: k.vals, v: v.vals, dims: c.dims, scale, mask: refMask }), opts: { scale: c.scale, mask } };
}

describe('scaledDotProductAttention', () => {
  for (const dtype of FLOATS)
    for (const layout of LAYOUTS)
      it(`${dtype} ${layout}: kernel and fallback match the float64 reference`, () => {
        CASES.forEach((c, i) => {
          const { q, k, v, ref, opts } = build(c, dtype, layout, 100 + i);
          const o: AttentionOptions = opts.scale === undefined ? { mask: opts.mask } : opts;
          const y = kn.fast.scaledDotProductAttention(q.arr, k.arr, v.arr, o);
          expect(y.node.primitive).toBe(Attention);
          expect(y.dtype).toBe(dtype);
          expect(y.shape).toEqual([c.dims.B, c.dims.Hq, c.dims.L, c.dims.Dv]);
          const what = `case ${i} ${JSON.stringify(c.dims)} mask ${JSON.stringify(c.mask)}`;
          const ulps = dtype === 'float32' || dtype === 'float64' ? 16 : 4;
          expectClose(y, ref, dtype, ulps, 1, `kernel ${what}`);
          const f = attentionComposed(attentionArgs(q.arr, k.arr, v.arr, o));
          expectClose(f, ref, dtype, ulps, 1, `fallback ${what}`);
          expectClose(y, values(f), dtype, ulps, 1, `kernel vs fallback ${what}`);
        });
      });

  it('mixed dtypes promote; the mask does not change the result dtype', () => {
    const q = kn.ones([1, 2, 3, 4], 'float16'),
      kv = kn.ones([1, 1, 5, 4], 'bfloat16');
    expect(kn.fast.scaledDotProductAttention(q, kv, kv).dtype).toBe('float32');
    const m = kn.zeros([3, 5], 'float64');
    expect(kn.fast.scaledDotProductAttention(q, q, q, { mask: kn.zeros([3, 3], 'float64') }).dtype).toBe('float16');
    expect(kn.fast.scaledDotProductAttention(q.astype('float64'), kv, kv, { mask: m }).dtype).toBe('float64');
  });

  it('an additive -inf over a whole row gives NaN there, as softmax does', () => {
    const q = kn.ones([1, 1, 2, 4]),
      kv = kn.ones([1, 1, 3, 4]);
    const mask = kn.array([
      [-Infinity, -Infinity, -Infinity],
      [0, -Infinity, 0],
    ]);
    const y = values(kn.fast.scaledDotProductAttention(q, kv, kv, { mask }));
    const f = values(attentionComposed(attentionArgs(q, kv, kv, { mask })));
    expect(Array.from(y.slice(0, 4)).every(Number.isNaN)).toBe(true);
    expect(Array.from(f.slice(0, 4)).every(Number.isNaN)).toBe(true);
    expect(Array.from(y.slice(4))).toEqual([1, 1, 1, 1]);
  });

  it('one key: the output is v whatever the scores', () => {
    const q = kn.array([[[[100, -3]]]]),
      k = kn.array([[[[2, 5]]]]),
      v = kn.array([[[[7, -8, 9]]]]);
    expect(kn.fast.scaledDotProductAttention(q, k, v, { scale: 1 }).tolist()).toEqual([[[[7, -8, 9]]]]);
  });

  it('large scores stay finite (max subtraction)', () => {
    const q = kn.full([1, 1, 1, 2], 300),
      k = kn.array([
        [
          [
            [1, 1],
            [1, 0.9],
          ],
        ],
      ]),
      v = kn.array([[[[1], [2]]]]);
    // scores 600 and 570: weights 1 : e^-30
    expectClose(kn.fast.scaledDotProductAttention(q, k, v, { scale: 1 }), [1 + 1 / (1 + Math.exp(30))], 'float32');
  });

  it('0-size inputs', () => {
    const sdpa = kn.fast.scaledDotProductAttention;
    expect(sdpa(kn.zeros([1, 2, 0, 4]), kn.zeros([1, 1, 3, 4]), kn.zeros([1, 1, 3, 4])).shape).toEqual([1, 2, 0, 4]);
    expect(sdpa(kn.zeros([0, 2, 3, 4]), kn.zeros([0, 1, 3, 4]), kn.zeros([0, 1, 3, 4])).shape).toEqual([0, 2, 3, 4]);
    expect(sdpa(kn.zeros([1, 2, 3, 4]), kn.zeros([1, 1, 3, 4]), kn.zeros([1, 1, 3, 0])).shape).toEqual([1, 2, 3, 0]);
    // no keys: an empty weighted sum is 0 (what q kᵀ v gives); the causal mask agrees
    expect(sdpa(kn.ones([1, 1, 2, 2]), kn.ones([1, 1, 0, 2]), kn.ones([1, 1, 0, 3])).tolist()).toEqual([
      [
        [
          [0, 0, 0],
          [0, 0, 0],
        ],
      ],
    ]);
    expect(sdpa(kn.ones([1, 1, 2, 2]), kn.ones([1, 1, 0, 2]), kn.ones([1, 1, 0, 3]), { mask: 'causal' }).tolist()).toEqual([
      [
        [
          [0, 0, 0],
          [0, 0, 0],
        ],
      ],
    ]);
    // D = 0: every score is 0, so v is averaged evenly
    const v = kn.array([[[[1], [3]]]]);
    expect(sdpa(kn.zeros([1, 1, 1, 0]), kn.zeros([1, 1, 2, 0]), v).tolist()).toEqual([[[[2]]]]);
  });

  it('errors name the op and the values', () => {
    const sdpa = kn.fast.scaledDotProductAttention;
    const q = kn.ones([1, 4, 3, 8]),
      k = kn.ones([1, 2, 5, 8]);
    expect(() => sdpa(kn.ones([4, 3, 8]), k, k)).toThrow(/\[scaledDotProductAttention\] q must have 4 dimensions \[B, Hq, L, D\], got shape \[4, 3, 8\]/);
    expect(() => sdpa(q, kn.ones([2, 2, 5, 8]), kn.ones([2, 2, 5, 8]))).toThrow(/same batch size/);
    expect(() => sdpa(q, k, kn.ones([1, 2, 6, 8]))).toThrow(/k and v must have the same heads and length/);
    expect(() => sdpa(q, kn.ones([1, 2, 5, 4]), k)).toThrow(/q and k must have the same head dimension/);
    expect(() => sdpa(q, kn.ones([1, 3, 5, 8]), kn.ones([1, 3, 5, 8]))).toThrow(/query heads \(4\) must be a multiple of the key\/value heads \(3\)/);
    expect(() => sdpa(q, k, k, { mask: kn.ones([3, 4]) })).toThrow(/mask of shape \[3, 4\] does not broadcast to the scores' shape \[1, 4, 3, 5\]/);
    expect(() => sdpa(q, k, k, { mask: kn.ones([2, 1, 4, 3, 5]) })).toThrow(/does not broadcast/);
    expect(() => sdpa(q, k, k, { mask: kn.ones([3, 5], 'int32') })).toThrow(/mask must be bool \(true = attend\) or floating/);
    expect(() => sdpa(q, k, k, { mask: 'upper' as 'causal' })).toThrow(/mask must be 'causal' or an array, got "upper"/);
    expect(() => sdpa(q, k, k, { scale: Infinity })).toThrow(/scale must be a finite number/);
    expect(() => sdpa(q, k, k, { causal: true } as AttentionOptions)).toThrow(/unknown option 'causal'/);
  });
});
