// median against numpy (expected values printed by numpy 2.4 for these inputs:
// np.median(a) -> nan, axis 0 -> [3, 4, nan], axis 1 -> [nan, 3, 4]; np.median(arange(10).reshape(2,5) % 3, axis=1) -> [1, 1]).
import { it, expect } from 'vitest';
import * as kn from '../index.js';

it('median follows numpy, including NaN propagation and keepdims', () => {
  const a = kn.array([
    [1, 5, Number.NaN],
    [3, 2, 7],
    [4, 4, 1],
  ]);
  expect(Number.isNaN(kn.median(a).item() as number)).toBe(true);
  expect(kn.median(a, 0).tolist()).toEqual([3, 4, Number.NaN]);
  expect(kn.median(a, 1).tolist()).toEqual([Number.NaN, 3, 4]);
  expect(kn.median(kn.arange(10).reshape(2, 5).remainder(3), 1).tolist()).toEqual([1, 1]);
  expect(kn.median(kn.array([3, 1, 4, 2])).item()).toBe(2.5);
  expect(
    kn
      .median(
        kn.array([
          [1, 5],
          [3, 2],
        ]),
        0,
        { keepdims: true },
      )
      .tolist(),
  ).toEqual([[2, 3.5]]);
  expect(kn.median(kn.array([1, 2], 'float16')).dtype).toBe('float16');
  expect(() => kn.median(kn.zeros([0]))).toThrow(/\[median\] cannot take the median of an empty axis/);
});
