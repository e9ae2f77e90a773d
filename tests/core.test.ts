// Core behaviour: creation, dtype inference, host conversion, laziness, errors.
import { describe, it, expect } from 'vitest';
import { inspect } from 'node:util';
import * as kn from '../index.js';
import { Float16Array } from '@petamoriken/float16';

describe('creation and dtype inference', () => {
  it('infers int32, float32 and bool from JS data like MLX', () => {
    expect(kn.array([1, 2, 3]).dtype).toBe('int32');
    expect(kn.array([1, 2.5]).dtype).toBe('float32');
    expect(kn.array([true, false]).dtype).toBe('bool');
    expect(kn.array(3).dtype).toBe('int32');
    expect(kn.array(3).ndim).toBe(0);
    expect(kn.array([[1n, 2n]]).dtype).toBe('int64');
    expect(kn.array([]).shape).toEqual([0]);
    expect(kn.array([[], []]).shape).toEqual([2, 0]);
  });

  it('keeps the type of typed arrays', () => {
    expect(kn.array(new Float64Array([1, 2])).dtype).toBe('float64');
    expect(kn.array(new Uint8Array([1, 2])).dtype).toBe('uint8');
    expect(kn.array(new BigInt64Array([1n, -2n])).tolist()).toEqual([1, -2]);
    const h = kn.array(new Float16Array([0.5, 1.5, 65504]));
    expect(h.dtype).toBe('float16');
    expect(h.tolist()).toEqual([0.5, 1.5, 65504]);
  });

  it('reports shape, ndim, size, itemsize and nbytes', () => {
    const a = kn.zeros([2, 3, 4], 'float16');
    expect([a.shape, a.ndim, a.size, a.itemsize, a.nbytes]).toEqual([[2, 3, 4], 3, 24, 2, 48]);
    const s = a.shape;
    s.push(9); // a copy: the array's shape cannot be changed through it
    expect(a.shape).toEqual([2, 3, 4]);
  });

  it('round-trips every dtype through host memory', () => {
    const vals = [0, 1, 2, 100];
    for (const d of kn.DTYPES) {
      const expected = d === 'bool' ? [false, true, true, true] : d === 'complex64' ? vals.map((re) => ({ re, im: 0 })) : vals;
      expect(kn.array(vals, d).tolist()).toEqual(expected);
    }
    expect(kn.array([1.5, -2.25, 1e-3], 'bfloat16').tolist()).toEqual([1.5, -2.25, 0.00099945068359375]);
    expect(kn.array([0.1], 'float16').tolist()).toEqual([0.0999755859375]);
    // an explicit dtype that cannot hold a value raises (numpy 2), it never wraps
    expect(() => kn.array([-1], 'uint8')).toThrow('[array] -1 does not fit uint8');
    expect(() => kn.array([2 ** 31], 'int32')).toThrow('[array] 2147483648 does not fit int32');
    expect(kn.array([1.9, -1.9], 'int32').tolist()).toEqual([1, -1]);
  });

  it('toTypedArray returns the natural typed array', () => {
    expect(kn.array([1, 2]).toTypedArray()).toBeInstanceOf(Int32Array);
    expect(kn.array([1, 2], 'float64').toTypedArray()).toBeInstanceOf(Float64Array);
    expect(kn.array([1, 2], 'bfloat16').toTypedArray()).toBeInstanceOf(Float32Array);
    expect(kn.array([1, 2], 'int64').toTypedArray()).toBeInstanceOf(BigInt64Array);
    expect(kn.array([true], 'bool').toTypedArray()).toBeInstanceOf(Uint8Array);
  });

  it('item() reads size-1 arrays and refuses others', () => {
    expect(kn.array([[7]]).item()).toBe(7);
    expect(kn.array(true).item()).toBe(true);
    expect(() => kn.array([1, 2]).item()).toThrow(/\[item\].*size 1.*\[2\]/);
  });

  it('full, zeros, ones, arange and the *Like creators', () => {
    expect(kn.full([2], 7).tolist()).toEqual([7, 7]);
    expect(kn.full([2], 1.5).dtype).toBe('float32');
    expect(kn.full([2], true).tolist()).toEqual([true, true]);
    expect(kn.zeros(3).tolist()).toEqual([0, 0, 0]);
    expect(kn.ones([2], 'int8').dtype).toBe('int8');
    expect(kn.arange(4).tolist()).toEqual([0, 1, 2, 3]);
    expect(kn.arange(1, 7, 2).tolist()).toEqual([1, 3, 5]);
    expect(kn.arange(5, 0, -2).tolist()).toEqual([5, 3, 1]);
    expect(kn.arange(0, 1, 0.25).tolist()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(kn.arange(3, 'float64').dtype).toBe('float64');
    expect(kn.arange(3, 1).shape).toEqual([0]);
    const a = kn.ones([2, 2], 'float16');
    expect(kn.zerosLike(a).dtype).toBe('float16');
    expect(kn.fullLike(a, 3).tolist()).toEqual([
      [3, 3],
      [3, 3],
    ]);
  });
});

describe('laziness and evaluation', () => {
  it('builds graphs without running them until needed', () => {
    const buffers = kn.memory.buffers();
    const a = kn.ones([1000]).multiply(2).add(1);
    expect(kn.memory.buffers()).toBe(buffers); // nothing allocated yet
    a.eval();
    expect(kn.memory.buffers()).toBe(buffers + 1);
    a.dispose();
  });

  it('kn.eval evaluates several arrays and trees together', () => {
    const x = kn.arange(5);
    const y = x.multiply(2);
    const z = { a: [y.add(1)], b: new Map([['k', y.sum()]]) };
    kn.eval(y, z);
    expect(z.a[0].tolist()).toEqual([1, 3, 5, 7, 9]);
    expect(z.b.get('k')!.item()).toBe(20);
  });

  it('evalAsync resolves and its results can be read', async () => {
    const x = kn.arange(10).multiply(3);
    await kn.evalAsync(x);
    expect(x.tolist()).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
  });

  it('evaluates deep graphs without recursion limits', () => {
    let x = kn.zeros([4]);
    for (let i = 0; i < 20_000; i++) x = x.add(1);
    expect(x.tolist()).toEqual([20_000, 20_000, 20_000, 20_000]);
  });

  it('prints like numpy through toString and util.inspect', () => {
    const a = kn.array([
      [1, 2],
      [3, 4],
    ]);
    expect(a.toString()).toBe('array([[1, 2],\n       [3, 4]])');
    expect(inspect(a)).toBe(a.toString());
    expect(String(kn.array([1.5, 2], 'float16'))).toBe('array([1.5, 2. ], dtype=float16)');
  });
});

describe('errors name the op and the values', () => {
  it.each([
    [() => kn.array([[1, 2], [3]]), /\[array\] ragged nested list/],
    [() => kn.array(['a'] as unknown as number[]), /\[array\].*string/],
    [() => kn.array(null), /\[array\].*null/],
    [() => kn.zeros([2, -1]), /\[full\] shape must contain non-negative integers/],
    [() => kn.zeros([2], 'float8' as kn.DType), /\[zeros\] unknown dtype "float8"/],
    [() => kn.reshape(kn.zeros([6]), [4]), /\[reshape\] cannot reshape array of size 6 into shape \[4\]/],
    [() => kn.reshape(kn.zeros([6]), [-1, -1]), /\[reshape\] can only specify one unknown dimension/],
    [() => kn.add(kn.zeros([2, 3]), kn.zeros([4])), /\[add\] shapes \[2, 3\] and \[4\] cannot be broadcast/],
    [() => kn.sum(kn.zeros([2, 3]), 2), /\[sum\] axis 2 is out of bounds for array of dimension 2/],
    [() => kn.sum(kn.zeros([2, 3]), [0, 0]), /\[sum\] repeated axis/],
    [() => kn.transpose(kn.zeros([2, 3]), [0]), /\[transpose\] axes/],
    [() => kn.matmul(kn.zeros([2, 3]), kn.zeros([4, 5])), /\[matmul\] inner dimensions differ/],
    [() => kn.matmul(kn.zeros([]), kn.zeros([4])), /\[matmul\] operands must have at least one dimension/],
    [() => kn.max(kn.zeros([0, 3]), 0), /\[max\] cannot reduce an empty axis/],
    [() => kn.bitwiseAnd(kn.zeros([2]), 1), /\[bitwiseAnd\] is only defined for integer and bool/],
    [() => kn.subtract(kn.array([true]), true), /\[subtract\] boolean subtract/],
    [() => kn.squeeze(kn.zeros([2, 3]), 0), /\[squeeze\] cannot select axis 0/],
    [() => kn.broadcastTo(kn.zeros([3]), [4]), /\[broadcastTo\]/],
    [() => kn.arange(0, 5, 0), /\[arange\] step must not be zero/],
    [() => kn.asStrided(kn.zeros([4]), [3], [2]), /\[asStrided\].*reaches outside/],
    [() => kn.add(kn.zeros([2]), 'x' as unknown as number), /\[add\]/],
  ])('case %#', (fn, re) => {
    expect(fn).toThrow(re);
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(Error);
    }
  });
});

describe('iteration', () => {
  it('iterates over the first axis like numpy and refuses 0-d arrays', () => {
    const rows = [...kn.arange(6).reshape(3, 2)].map((r) => r.tolist());
    expect(rows).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    const [a, b] = kn.random.split(kn.random.key(1));
    expect(a.shape).toEqual([2]);
    expect(b.dtype).toBe('uint32');
    expect(() => [...kn.array(1)]).toThrow(/\[iter\] iteration over a 0-d array/);
  });
});
