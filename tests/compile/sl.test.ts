import { test, expect } from 'vitest';
import * as kn from '../../index.js';
test('shapeless', () => {
  let traces = 0;
  const f = kn.compile((x: kn.NDArray) => { traces++; return kn.softmax(kn.multiply(x, 2), -1); }, { shapeless: true });
  for (const [n, d] of [[2, 8], [3, 8], [5, 16], [1, 4], [7, 33]]) {
    const x = kn.random.normal([n, d]);
    const a = f(x) as kn.NDArray, e = kn.softmax(kn.multiply(x, 2), -1);
    expect(a.shape).toEqual([n, d]);
    expect(kn.allclose(a, e, { rtol: 1e-5, atol: 1e-6 }).item()).toBe(true);
  }
  console.log('traces', traces, f.info);
  const g = kn.compile((x: kn.NDArray) => kn.mean(x, -1), { shapeless: true });
  g(kn.ones([2, 4]));
  expect(() => g(kn.ones([2, 8]))).toThrow(/full/);
});
