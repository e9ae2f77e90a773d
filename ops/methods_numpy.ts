// Array methods of issue 17's numpy functions that numpy offers as ndarray methods: copy, ravel,
// dot, tobytes, compress, choose. Installed by importing this module (ops/index.ts does).
import { NDArray } from '../core/array.js';
import type { ArrayInput } from './convert.js';
import { choose, compress } from './index_tools.js';
import { copy, dot, ravel } from './numpy_stack.js';
import { tobytes } from './io/text.js';

declare module '../core/array.js' {
  interface NDArray {
    /** A copy with its own buffer. Same as `kn.copy(a)`. @example kn.array([1, 2]).copy() // [1, 2] */
    copy(): NDArray;
    /** The flattened array (a view when possible). Same as `kn.ravel(a)`. @example kn.ones([2, 2]).ravel().shape // [4] */
    ravel(): NDArray;
    /**
     * numpy's dot: inner product of 1-d arrays, matrix product of 2-d ones, and so on. Same as `kn.dot(a, b)`.
     * @example kn.array([1, 2]).dot(kn.array([3, 4])).item() // 11
     */
    dot(b: ArrayInput): NDArray;
    /** The row-major bytes in the array's dtype (evaluates it), as numpy's `a.tobytes()`. @example Array.from(kn.array([1], 'int16').tobytes()) // [1, 0] */
    tobytes(): Buffer;
    /**
     * The slices along `axis` (of the flattened array when null) where `condition` is true. Same as `kn.compress(condition, a, axis)`.
     * @example kn.array([1, 2, 3]).compress([true, false, true]) // [1, 3]
     */
    compress(condition: ArrayInput, axis?: number | null): NDArray;
    /**
     * Picks each element from `choices[i]` where this index array holds i (`mode`: 'raise', 'wrap' or 'clip'). Same as `kn.choose(a, choices, opts)`.
     * @example kn.array([1, 0]).choose([[1, 2], [3, 4]]) // [3, 2]
     */
    choose(choices: readonly ArrayInput[], opts?: { mode?: 'raise' | 'wrap' | 'clip' }): NDArray;
  }
}

Object.assign(NDArray.prototype as unknown as Record<string, unknown>, {
  copy(this: NDArray) {
    return copy(this);
  },
  ravel(this: NDArray) {
    return ravel(this);
  },
  dot(this: NDArray, b: ArrayInput) {
    return dot(this, b);
  },
  tobytes(this: NDArray) {
    return tobytes(this);
  },
  compress(this: NDArray, condition: ArrayInput, axis: number | null = null) {
    return compress(condition, this, axis);
  },
  choose(this: NDArray, choices: readonly ArrayInput[], opts?: { mode?: 'raise' | 'wrap' | 'clip' }) {
    return choose(this, choices, opts);
  },
});
