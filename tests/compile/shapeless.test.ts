// shapeless: one trace (confirmed by a second) serves every size; what cannot be is named.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { expectSame, normal } from './helpers.js';

describe('shapeless', () => {
  it('reuses the trace across sizes: softmax with broadcasting', () => {
    let traces = 0;
    const f = kn.compile(
      (x: kn.NDArray, b: kn.NDArray) => {
        traces++;
        return kn.softmax(kn.add(kn.multiply(x, 2), b), -1);
      },
      { shapeless: true },
    );
    const sizes = [
      [2, 8],
      [3, 8],
      [5, 16],
      [1, 4],
      [7, 33],
      [2, 8],
    ];
    for (const [n, d] of sizes) {
      const x = normal([n, d], n * 100 + d),
        b = normal([d], d);
      expectSame(f(x, b), kn.softmax(kn.add(kn.multiply(x, 2), b), -1), { rtol: 1e-5, atol: 1e-7 });
    }
    // the first trace, and one more at the second size that confirms the shape rules
    expect(traces).toBe(2);
    expect(f.info.traces).toBe(2);
  });

  it('reshapes that merge or split dims, transposes, matmul and slices follow the sizes', () => {
    const D = 8;
    const w = normal([D, D], 1);
    const f = kn.compile(
      (x: kn.NDArray) => {
        const [B, L] = [x.shape[0], x.shape[1]];
        const h = kn.matmul(kn.reshape(x, [B * L, D]), w); // merge
        const y = kn.reshape(h, [B, L, 2, D / 2]); // split with fixed trailing dims
        return kn.add(kn.transpose(y, [0, 2, 1, 3]).index(':', ':', '1:'), 1);
      },
      { shapeless: true },
    );
    for (const L of [3, 5, 9, 4]) {
      const x = normal([2, L, D], L);
      const h = kn.matmul(kn.reshape(x, [2 * L, D]), w);
      const want = kn.add(kn.transpose(kn.reshape(h, [2, L, 2, D / 2]), [0, 2, 1, 3]).index(':', ':', '1:'), 1);
      expectSame(f(x), want, { rtol: 1e-5, atol: 1e-6 });
    }
    expect(f.info.traces).toBe(2);
  });

  it('names the primitive that cannot be shapeless (a count computed from sizes)', () => {
    const f = kn.compile((x: kn.NDArray) => kn.mean(x, -1), { shapeless: true });
    expectSame(f(kn.ones([2, 4])), kn.ones([2]));
    expect(() => f(kn.ones([2, 8]))).toThrow(/shapeless: full cannot be shapeless: its value 4 becomes 8/);
    // the sizes it was traced at still work; new ones keep failing clearly
    expectSame(f(kn.ones([2, 4])), kn.ones([2]));
    expect(() => f(kn.ones([2, 16]))).toThrow(/full cannot be shapeless/);
  });

  it('a mean over a fixed axis is fine when only other axes vary', () => {
    const f = kn.compile((x: kn.NDArray) => kn.mean(kn.square(x), -1), { shapeless: true });
    for (const n of [2, 3, 7]) {
      const x = normal([n, 16], n);
      expectSame(f(x), kn.mean(kn.square(x), -1), { rtol: 1e-5 });
    }
  });

  it('a full of a computed shape cannot be shapeless', () => {
    const f = kn.compile((x: kn.NDArray) => kn.add(x, kn.full([x.shape[0]], 2)), { shapeless: true });
    f(kn.ones([3]));
    expect(() => f(kn.ones([5]))).toThrow(/shapeless: .*cannot be shapeless/);
  });

  it('ranks and dtypes still key separate traces', () => {
    const f = kn.compile((x: kn.NDArray) => kn.exp(x), { shapeless: true });
    f(kn.ones([3]));
    f(kn.ones([3, 2]));
    f(kn.ones([3], 'float64'));
    expect(f.info.traces).toBe(3);
  });
});
