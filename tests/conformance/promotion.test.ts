// Result dtypes: MLX's promotion table for array operands, weak JS scalars (MLX / NEP 50),
// per-op output dtypes (float ops, comparisons, reductions) and dtype inference of kn.array.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import * as R from './reference.js';
import { DTYPES, type DType } from './util.js';

// MLX's type_rules (mlx/dtype.cpp) in kiln's dtype order. It is numpy's table except that an
// integer meeting a float keeps that float, uint64 with a signed int gives float32 and
// float16 with bfloat16 gives float32.
const b = 'bool',
  u8 = 'uint8',
  u16 = 'uint16',
  u32 = 'uint32',
  u64 = 'uint64',
  i8 = 'int8',
  i16 = 'int16',
  i32 = 'int32',
  i64 = 'int64',
  f16 = 'float16',
  bf = 'bfloat16',
  f32 = 'float32',
  f64 = 'float64';
const TABLE: Record<DType, DType[]> = {
  bool: [b, u8, u16, u32, u64, i8, i16, i32, i64, f16, bf, f32, f64],
  uint8: [u8, u8, u16, u32, u64, i16, i16, i32, i64, f16, bf, f32, f64],
  uint16: [u16, u16, u16, u32, u64, i32, i32, i32, i64, f16, bf, f32, f64],
  uint32: [u32, u32, u32, u32, u64, i64, i64, i64, i64, f16, bf, f32, f64],
  uint64: [u64, u64, u64, u64, u64, f32, f32, f32, f32, f16, bf, f32, f64],
  int8: [i8, i16, i32, i64, f32, i8, i16, i32, i64, f16, bf, f32, f64],
  int16: [i16, i16, i32, i64, f32, i16, i16, i32, i64, f16, bf, f32, f64],
  int32: [i32, i32, i32, i64, f32, i32, i32, i32, i64, f16, bf, f32, f64],
  int64: [i64, i64, i64, i64, f32, i64, i64, i64, i64, f16, bf, f32, f64],
  float16: [f16, f16, f16, f16, f16, f16, f16, f16, f16, f16, f32, f32, f64],
  bfloat16: [bf, bf, bf, bf, bf, bf, bf, bf, bf, f32, bf, f32, f64],
  float32: [f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f64],
  float64: [f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64],
};

const PAIRS = DTYPES.flatMap((x) => DTYPES.map((y) => [x, y] as [DType, DType]));

describe('promotion of two arrays', () => {
  it.each(PAIRS)('%s + %s', (x, y) => {
    const want = TABLE[x][DTYPES.indexOf(y)];
    expect(kn.promoteTypes(x, y)).toBe(want);
    expect(R.promote(x, y)).toBe(want); // the reference agrees with the table
    const r = kn.add(kn.zeros([2], x), kn.zeros([2], y));
    expect(r.dtype).toBe(want);
    expect(kn.maximum(kn.zeros([2], y), kn.zeros([2], x)).dtype).toBe(want);
    expect(kn.where(true, kn.zeros([2], x), kn.zeros([2], y)).dtype).toBe(want);
  });
  it('the brief examples', () => {
    expect(kn.add(kn.zeros([1], 'int8'), kn.zeros([1], 'uint8')).dtype).toBe('int16');
    expect(kn.add(kn.zeros([1], 'float16'), kn.zeros([1], 'bfloat16')).dtype).toBe('float32');
    expect(kn.resultType('int8', 'uint8', 'float16')).toBe('float16');
  });
});

describe('weak JS scalars', () => {
  const want = (d: DType, s: number | boolean): DType => {
    if (typeof s === 'boolean') return d;
    if (Number.isInteger(s)) return d === 'bool' ? 'int32' : d;
    return R.isFloat(d) ? d : 'float32';
  };
  const scalars: (number | boolean)[] = [2, 1.5, true, Infinity, -0];
  const cases = DTYPES.flatMap((d) => scalars.map((s) => [d, String(s), s] as [DType, string, number | boolean]));
  it.each(cases)('%s array + %s', (d, _, s) => {
    const w = Object.is(s, Infinity) ? (R.isFloat(d) ? d : 'float32') : want(d, s);
    expect(kn.add(kn.zeros([2], d), s).dtype).toBe(w);
    expect(kn.multiply(s, kn.zeros([2], d)).dtype).toBe(w);
    expect(R.weakPromote(d, s)).toBe(w);
  });
  it('the brief examples', () => {
    expect(kn.add(kn.zeros([1], 'int32'), 1.5).dtype).toBe('float32');
    expect(kn.add(kn.zeros([1], 'float16'), 2).dtype).toBe('float16');
    expect(kn.add(kn.zeros([1], 'float16'), 2.5).dtype).toBe('float16');
    expect(kn.add(kn.zeros([1], 'int8'), 1).dtype).toBe('int8');
    expect(kn.add(kn.zeros([1], 'bool'), 1).dtype).toBe('int32');
    expect(kn.add(kn.zeros([1], 'int64'), 1.5).dtype).toBe('float32');
  });
  it('two scalars use their default dtypes', () => {
    expect(kn.add(1, 2).dtype).toBe('int32');
    expect(kn.add(1, 2).item()).toBe(3);
    expect(kn.add(1, 2.5).dtype).toBe('float32');
    expect(kn.add(true, 1).dtype).toBe('int32');
    expect(kn.logicalAnd(true, false).item()).toBe(false);
  });
  it('a float16 scalar operand is rounded to float16 first (NEP 50)', () => {
    // 2^-11 + 2^-22 is 2^-11 in float16, and 1 + 2^-11 ties to 1; unrounded it would give 1 + 2^-10
    expect(kn.add(kn.ones([1], 'float16'), 2 ** -11 + 2 ** -22).tolist()).toEqual([1]);
  });
});

describe('op output dtypes', () => {
  it('float ops on integers and bool compute in float32; floats keep their type', () => {
    for (const d of DTYPES) {
      const want = R.isFloat(d) ? d : 'float32';
      expect(kn.exp(kn.zeros([1], d)).dtype, `exp ${d}`).toBe(want);
      expect(kn.sqrt(kn.zeros([1], d)).dtype, `sqrt ${d}`).toBe(want);
      expect(kn.divide(kn.zeros([1], d), kn.ones([1], d)).dtype, `divide ${d}`).toBe(want);
      expect(kn.arctan2(kn.zeros([1], d), kn.ones([1], d)).dtype, `arctan2 ${d}`).toBe(want);
    }
    expect(kn.divide(kn.zeros([1], 'int64'), 2).dtype).toBe('float32');
  });
  it('comparisons, logical ops and predicates give bool', () => {
    for (const d of DTYPES) {
      expect(kn.less(kn.zeros([1], d), 1).dtype).toBe('bool');
      expect(kn.logicalOr(kn.zeros([1], d), 1).dtype).toBe('bool');
      expect(kn.isnan(kn.zeros([1], d)).dtype).toBe('bool');
      expect(kn.logicalNot(kn.zeros([1], d)).dtype).toBe('bool');
    }
  });
  it('rounding ops and sign keep the dtype', () => {
    for (const d of DTYPES) {
      expect(kn.floor(kn.zeros([1], d)).dtype).toBe(d);
      expect(kn.round(kn.zeros([1], d)).dtype).toBe(d);
      if (d !== 'bool') expect(kn.sign(kn.zeros([1], d)).dtype).toBe(d);
    }
  });
  it('bool arithmetic: power, floorDivide and remainder give int8, add stays bool', () => {
    const t = kn.array([true]);
    expect(kn.power(t, t).dtype).toBe('int8');
    expect(kn.floorDivide(t, t).dtype).toBe('int8');
    expect(kn.remainder(t, t).dtype).toBe('int8');
    expect(kn.add(t, t).dtype).toBe('bool');
    expect(kn.multiply(t, t).dtype).toBe('bool');
  });
  it('reductions', () => {
    const cases: [DType, Record<string, DType>][] = [
      ['bool', { sum: 'int32', prod: 'int32', mean: 'float32', max: 'bool', all: 'bool', argmax: 'int32' }],
      ['int8', { sum: 'int32', prod: 'int32', mean: 'float32', max: 'int8', all: 'bool', argmax: 'int32' }],
      ['int16', { sum: 'int32', prod: 'int32', mean: 'float32', min: 'int16', any: 'bool', argmin: 'int32' }],
      ['uint8', { sum: 'uint32', prod: 'uint32', mean: 'float32', max: 'uint8' }],
      ['uint16', { sum: 'uint32', mean: 'float32' }],
      ['int32', { sum: 'int32', mean: 'float32', argmax: 'int32' }],
      ['uint32', { sum: 'uint32', mean: 'float32' }],
      ['int64', { sum: 'int64', prod: 'int64', mean: 'float32' }],
      ['uint64', { sum: 'uint64', mean: 'float32' }],
      ['float16', { sum: 'float16', mean: 'float16', max: 'float16', argmax: 'int32' }],
      ['bfloat16', { sum: 'bfloat16', mean: 'bfloat16' }],
      ['float32', { sum: 'float32', mean: 'float32' }],
      ['float64', { sum: 'float64', mean: 'float64', prod: 'float64' }],
    ];
    for (const [d, ops] of cases) {
      for (const [op, want] of Object.entries(ops)) {
        const f = (kn as unknown as Record<string, (a: kn.NDArray) => kn.NDArray>)[op];
        expect(f(kn.zeros([2, 2], d)).dtype, `${op}(${d})`).toBe(want);
        expect(R.reduceDType(op as R.ReduceOp, d)).toBe(want);
      }
    }
  });
  it('matmul promotes like binary ops', () => {
    expect(kn.matmul(kn.zeros([2, 2], 'int8'), kn.zeros([2, 2], 'float16')).dtype).toBe('float16');
    expect(kn.matmul(kn.zeros([2, 2], 'int8'), kn.zeros([2, 2], 'uint8')).dtype).toBe('int16');
    expect(kn.matmul(kn.zeros([2, 2], 'bool'), kn.zeros([2, 2], 'int32')).dtype).toBe('int32');
  });
});

describe('dtype inference of kn.array', () => {
  it('JS data', () => {
    expect(kn.array([1, 2]).dtype).toBe('int32');
    expect(kn.array([1, 2.5]).dtype).toBe('float32');
    expect(kn.array([true, false]).dtype).toBe('bool');
    expect(kn.array([1n, 2n]).dtype).toBe('int64');
    expect(kn.array(3).dtype).toBe('int32');
    expect(kn.array(3.5).dtype).toBe('float32');
    expect(kn.array([]).dtype).toBe('float32');
  });
  it('typed arrays keep their type', () => {
    expect(kn.array(new Int8Array(2)).dtype).toBe('int8');
    expect(kn.array(new Uint16Array(2)).dtype).toBe('uint16');
    expect(kn.array(new Float64Array(2)).dtype).toBe('float64');
    expect(kn.array(new BigUint64Array(2)).dtype).toBe('uint64');
    expect(kn.array(new kn.Float16Array([1.5])).dtype).toBe('float16');
    expect(kn.array(new kn.Float16Array([1.5])).tolist()).toEqual([1.5]);
  });
  it('host round trip of every dtype through toTypedArray/tolist/item', () => {
    for (const d of DTYPES) {
      const vals = d === 'bool' ? [1, 0] : [1, 2];
      const a = kn.array(vals, d);
      expect(Array.from(a.toTypedArray() as ArrayLike<number | bigint>).map(Number)).toEqual(vals);
      expect(a.tolist()).toEqual(d === 'bool' ? [true, false] : vals);
      expect(
        a
          .slice([{ start: 1 }])
          .reshape([])
          .item(),
      ).toBe(d === 'bool' ? false : 2);
    }
  });
});
