import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { checkGrad, checkJvp, randomArray } from '../helpers/grad_check.js';

describe('scans', () => {
  const x = randomArray([3, 5], 11, 0.5, 1.5);
  const w = randomArray([3, 5], 3);
  test('smoke', () => {
    for (const op of ['cumsum', 'cumprod', 'cummax', 'cummin', 'logcumsumexp'] as const)
      for (const reverse of [false, true])
        for (const inclusive of [true, false]) {
          const f = (a: kn.NDArray) => {
            const y = (kn as any)[op](a, 1, { reverse, inclusive });
            return kn.multiply(kn.where(kn.isfinite(y), y, 0), w);
          };
          checkGrad(f, [x]);
          checkJvp(f, [x]);
        }
  });
});
