// A complex value is true when either part is nonzero (numpy's bool(1j) is True): astype to bool
// and where's condition must not look at the real part alone.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

describe('complex truthiness', () => {
  const z = kn.array(
    [
      { re: 0, im: 1 },
      { re: 0, im: 0 },
      { re: 2, im: 0 },
      { re: -0, im: -0 },
    ],
    'complex64',
  );
  it('astype(bool) is true where the real or the imaginary part is nonzero', () => {
    expect(kn.astype(z, 'bool').tolist()).toEqual([true, false, true, false]);
  });
  it('where takes a complex condition the same way', () => {
    expect(kn.where(z, 1, 2).tolist()).toEqual([1, 2, 1, 2]);
  });
});
