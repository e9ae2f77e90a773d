// JS semantics that bite (issue 17): allclose/arrayEqual are JS booleans, size-1 arrays convert
// to JS numbers (Symbol.toPrimitive), larger ones refuse with a clear error, item() is a number.
import { describe, expect, it } from 'vitest';
import * as kn from '../index.js';

describe('JS booleans and numbers', () => {
  it('allclose and arrayEqual return JS booleans, so if () means what it says', () => {
    const a = kn.array([1, 2, 3]);
    expect(kn.allclose(a, kn.array([1, 2, 3.5]))).toBe(false);
    expect(kn.allclose(a, kn.array([1, 2, 3 + 1e-9]))).toBe(true);
    expect(kn.arrayEqual(a, kn.array([1, 2, 4]))).toBe(false);
    expect(kn.arrayEqual(a, kn.array([1, 2, 3], 'float64'))).toBe(true);
    expect(kn.arrayEqual(a, kn.array([1, 2]))).toBe(false);
    let taken = false;
    if (kn.allclose(a, kn.array([9, 9, 9]))) taken = true;
    expect(taken).toBe(false);
    // nothing of the comparison is left behind
    const before = kn.memory.active();
    for (let i = 0; i < 5; i++) kn.allclose(a, a);
    expect(kn.memory.active()).toBe(before);
  });

  it('size-1 arrays convert like their element', () => {
    const a = kn.array([2.5]);
    expect(Number(a)).toBe(2.5);
    expect(+a).toBe(2.5);
    expect((a as unknown as number) > 2).toBe(true);
    expect((kn.array(3) as unknown as number) + 1).toBe(4);
    expect(`${kn.array(0.1)}`).toBe('0.1'); // numpy's str of a float32 0-d array
    expect(`${kn.array(7, 'int64')}`).toBe('7');
    expect(`${kn.array(true)}`).toBe('true');
    expect(`${kn.array([1, 2])}`).toBe('array([1, 2])');
    expect(Number(kn.array(true))).toBe(1);
  });

  it('larger arrays refuse numeric conversion with a clear error', () => {
    expect(() => +kn.array([1, 2])).toThrow(/only a real size-1 array converts to a JS number.*int32 of shape \[2\]/);
    expect(() => (kn.zeros([2, 2]) as unknown as number) > 0).toThrow(/shape \[2, 2\]/);
    const d = kn.array([1]);
    d.dispose();
    expect(() => +d).toThrow(/disposed/);
    expect(String(d)).toBe('array(<disposed>)');
  });

  it('item() is typed number (bool arrays give booleans)', () => {
    const n: number = kn.sum(kn.array([1, 2])).item();
    expect(n + 1).toBe(4);
    expect(kn.array(true).item<boolean>()).toBe(true);
    expect(kn.array(2 ** 40).item()).toBe(2 ** 40);
  });

  it('item() reads the element of every dtype, at any offset of its buffer', () => {
    // each value is exact in its dtype; the element sits at offset 3 of a 5-element buffer
    const cases: [kn.DType, number | boolean][] = [
      ['bool', true], ['uint8', 200], ['int8', -100], ['uint16', 60000], ['int16', -30000],
      ['uint32', 4e9], ['int32', -2e9], ['int64', -(2 ** 53) + 1], ['uint64', 2 ** 53 - 1],
      ['float16', -1.5], ['bfloat16', 3.25], ['float32', 0.1], ['float64', 0.1],
    ];
    for (const [dtype, v] of cases) {
      const row = kn.full([5], v, dtype);
      const want = dtype === 'float32' ? Math.fround(v as number) : v;
      expect(row.index(3).item<number | boolean>(), dtype).toBe(want);
      expect(kn.full([2, 3], v, dtype).eval().T.index(2, 1).item<number | boolean>(), `${dtype} strided`).toBe(want);
      // a read shares one destination: two reads in a row keep their own values
      const pair = [kn.full([1], v, dtype).item<number | boolean>(), kn.zeros([1], dtype).item<number | boolean>()];
      expect(pair, `${dtype} pair`).toEqual([want, dtype === 'bool' ? false : 0]);
    }
    expect(kn.array(-0.0).item()).toBe(-0);
    expect(kn.array(NaN, 'float16').item()).toBeNaN();
  });
});

describe('smaller bugs of issue 17', () => {
  it('an out-of-bounds index array names the index as given', () => {
    const a = kn.arange(6);
    expect(() => a.index(kn.array([9]))).toThrow('[index] index 9 is out of bounds for axis 0 with size 6');
    expect(() => a.index(kn.array([-7]))).toThrow('[index] index -7 is out of bounds for axis 0 with size 6');
    // not evaluated yet: the gather kernel reports it when evaluated, still as given
    expect(() => a.index(kn.add(kn.array([9]), 0)).eval()).toThrow(/index 9 is out of bounds/);
    const m = kn.arange(12).reshape(3, 4);
    expect(() => m.index(kn.array([1, 5]), kn.array([0, 1]))).toThrow('[index] index 5 is out of bounds for axis 0 with size 3');
    expect(m.index(kn.array([1, 2]), kn.array([0, -1])).tolist()).toEqual([4, 11]); // numpy: m[[1, 2], [0, -1]]
    expect(a.index(kn.array([-1, 0])).tolist()).toEqual([5, 0]);
  });

  it('kn.eye and kn.tri take the dtype in any trailing position', () => {
    expect(kn.eye(2, 'bool').tolist()).toEqual([
      [true, false],
      [false, true],
    ]);
    expect(kn.eye(2, 3, 'int8').dtype).toBe('int8');
    expect(kn.eye(2, { dtype: 'float64' }).dtype).toBe('float64');
    expect(kn.tri(2, 'int32').tolist()).toEqual([
      [1, 0],
      [1, 1],
    ]);
    expect(kn.eye(2, 2, 1).tolist()).toEqual([
      [0, 1],
      [0, 0],
    ]);
  });
});
