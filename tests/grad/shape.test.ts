// Gradients and jvps of views and shape ops against float64 central differences.
import { describe, test } from 'vitest';
import * as kn from '../../index.js';
import { checkGrad, checkJvp, randomArray } from '../helpers/grad_check.js';

type Fn = (...xs: kn.NDArray[]) => kn.NDArray;
/** checks grad and jvp of f with its output weighted, so each output element counts distinctly */
const both = (f: Fn, args: kn.NDArray[]) => {
  const weighted = (...xs: kn.NDArray[]) => {
    const y = f(...xs);
    return kn.multiply(y, randomArray(y.shape, 99));
  };
  checkGrad(weighted, args);
  checkJvp(weighted, args);
};

describe('views', () => {
  const x = randomArray([2, 3, 4], 1);
  test('reshape, flatten, transpose, swapaxes, moveaxis, permuteDims', () => {
    both((a) => kn.reshape(a, [4, 6]), [x]);
    both((a) => kn.reshape(kn.transpose(a), [-1]), [x]); // a copy when not viewable
    both((a) => kn.flatten(a, 1), [x]);
    both((a) => kn.transpose(a, [1, 2, 0]), [x]);
    both((a) => kn.swapaxes(a, 0, 2), [x]);
    both((a) => kn.moveaxis(a, 0, -1), [x]);
    both((a) => kn.permuteDims(a, [2, 0, 1]), [x]);
    both((a) => a.T, [x]);
  });
  test('squeeze, expandDims, broadcastTo, atleast, unflatten', () => {
    const y = randomArray([3, 1, 2], 2);
    both((a) => kn.squeeze(a), [y]);
    both((a) => kn.squeeze(a, 1), [y]);
    both((a) => kn.expandDims(a, [0, 3]), [y]);
    both((a) => kn.broadcastTo(a, [4, 3, 5, 2]), [y]);
    both((a) => kn.atleast3d(a), [randomArray([3], 3)]);
    both((a) => kn.unflatten(a, 2, [2, 2]), [x]);
  });
  test('slicing with steps, negative steps, integers and newaxis', () => {
    both((a) => a.index(kn.slice(null, null, -1), '1:', '::2'), [x]);
    both((a) => a.index('...', kn.slice(3, 0, -2)), [x]);
    both((a) => a.index(1, null, kn.slice(-2, null)), [x]);
    both((a) => a.index(kn.slice(null, null, 2), kn.slice(2, null, -1), 3), [x]);
    both((a) => kn.slice(a, [{ start: 1, stop: 2 }, { step: 3 }, { start: -1, stop: 0, step: -1 }]), [x]);
  });
  test('asStrided, diagonal, tril, triu, diag', () => {
    const m = randomArray([4, 4], 4);
    both((a) => kn.asStrided(a, [3, 3], [4, 1], 1), [m]);
    both((a) => kn.asStrided(a, [2, 3], [1, 1]), [randomArray([5], 5)]); // overlapping windows
    both((a) => kn.diagonal(a, 1), [m]);
    both((a) => kn.diagonal(a, 0, 2, 0), [x]);
    both((a) => kn.tril(a), [m]);
    both((a) => kn.triu(a, 1), [m]);
    both((a) => kn.diag(a), [m]);
    both((a) => kn.diag(a, -1), [randomArray([3], 6)]);
  });
});

describe('shape ops', () => {
  const a = randomArray([2, 3], 7),
    b = randomArray([2, 2], 8),
    c = randomArray([2, 3], 9);
  test('concatenate and stack', () => {
    both((p, q) => kn.concatenate([p, q], 1), [a, b]);
    both((p, q) => kn.concatenate([p, q, p], 0), [a, c]);
    both(
      (p) =>
        kn.concatenate(
          [
            p,
            kn.array([
              [1, 2],
              [3, 4],
            ]),
          ],
          -1,
        ),
      [a],
    ); // mixed dtypes promote
    both((p, q) => kn.stack([p, q], 1), [a, c]);
    both((p, q) => kn.stack([p, q, p], -1), [a, c]);
  });
  test('split and unstack', () => {
    both(
      (p) => {
        const [u, , w] = kn.split(p, [1, 2], 1);
        return kn.concatenate([kn.multiply(u, 3), w], 1);
      },
      [a],
    );
    both((p) => kn.multiply(kn.split(p, 2, 0)[1], 2), [a]);
    both(
      (p) => {
        const [u, v] = kn.unstack(p, 0);
        return kn.multiply(u, kn.exp(v));
      },
      [a],
    );
  });
  test('tile, repeat, roll, flip', () => {
    both((p) => kn.tile(p, [2, 1, 3]), [a]);
    both((p) => kn.tile(p, 2), [a]);
    both((p) => kn.repeat(p, 3, 1), [a]);
    both((p) => kn.repeat(p, 2), [a]);
    both((p) => kn.roll(p, 2), [a]);
    both((p) => kn.roll(p, [1, -1], [0, 1]), [a]);
    both((p) => kn.flip(p), [a]);
    both((p) => kn.flip(p, 1), [a]);
  });
  test('pad in both modes', () => {
    both((p) => kn.pad(p, 1), [a]);
    both(
      (p) =>
        kn.pad(
          p,
          [
            [2, 0],
            [1, 3],
          ],
          { constantValue: 5 },
        ),
      [a],
    );
    both(
      (p) =>
        kn.pad(
          p,
          [
            [0, 2],
            [2, 1],
          ],
          { mode: 'edge' },
        ),
      [a],
    );
    both((p) => kn.pad(p, 2, { mode: 'edge' }), [a]);
  });
  test('diff and kron', () => {
    both((p) => kn.diff(p), [a]);
    both((p) => kn.diff(p, 2, 1), [randomArray([2, 5], 10)]);
    both((p) => kn.diff(p, 1, 0), [a]);
    both((p, q) => kn.kron(p, q), [a, b]);
    both((p, q) => kn.kron(p, q), [randomArray([3], 11), b]);
  });
});

describe('more composites', () => {
  test('broadcastArrays, meshgrid, full with an array value, atleast1d/2d', () => {
    const a = randomArray([3, 1], 12),
      b = randomArray([4], 13);
    both(
      (p, q) => {
        const [u, v] = kn.broadcastArrays(p, q);
        return kn.multiply(u, kn.exp(v));
      },
      [a, b],
    );
    both(
      (p, q) => {
        const [u, v] = kn.meshgrid(p, q);
        return kn.add(u, kn.square(v));
      },
      [randomArray([3], 14), b],
    );
    both(
      (p, q) => {
        const [u, v] = kn.meshgrid(p, q, { indexing: 'ij' });
        return kn.multiply(u, v);
      },
      [randomArray([3], 15), b],
    );
    both((p) => kn.full([2, 3, 4], p), [b]);
    both((p) => kn.atleast1d(p), [randomArray([], 16)]);
    both((p) => kn.atleast2d(p), [b]);
  });
  test('an in-place put_ inside a differentiated function', () => {
    both(
      (p, v) => {
        const y = kn.multiply(p, 2);
        kn.put_(y, [kn.array([0, 2])], v);
        return y;
      },
      [randomArray([4], 17), randomArray([2], 18)],
    );
  });
});
