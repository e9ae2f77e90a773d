// erf's float32 accuracy (elementwise_math.h: 8 polynomial pieces on [0, 4), shared by the eager
// kernel and fused programs): within 1.1 ulp of a float64 reference on a dense sweep of [-4.5, 4.5],
// on tiny and subnormal inputs, across every piece boundary, and exactly ±1 beyond 4; compiled
// (fused) results are the same bits.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import * as R from './reference.js';

/** One float32 ulp at |y| (the spacing of float32 numbers in y's binade; subnormal spacing below). */
function ulp32(y: number): number {
  const a = Math.abs(y);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

function inputs(): Float32Array {
  const xs: number[] = [];
  for (let i = -450000; i <= 450000; i++) xs.push(i / 100000); // step 1e-5 over [-4.5, 4.5]
  for (let k = 0; k <= 8; k++) for (const d of [-1e-6, 0, 1e-6]) xs.push(k / 2 + d, -(k / 2 + d)); // piece boundaries
  for (let e = -149; e <= -1; e++) xs.push(2 ** e, -(2 ** e), 1.5 * 2 ** e); // tiny and subnormal
  xs.push(4, 5, 10, 1e30, Infinity, -4, -10, -Infinity);
  return Float32Array.from(xs);
}

describe('erf float32 accuracy', () => {
  it('is within 1.1 ulp of a float64 reference, and fused erf gives the same bits', () => {
    const xs = inputs();
    const x = kn.array(xs, 'float32');
    const got = kn.erf(x).toTypedArray() as Float32Array;
    let worst = 0,
      at = 0;
    for (let i = 0; i < xs.length; i++) {
      const ref = R.erf(xs[i]);
      const err = Math.abs(got[i] - ref) / ulp32(ref);
      if (err > worst) [worst, at] = [err, xs[i]];
      if (Math.abs(xs[i]) >= 4) expect(got[i], `erf(${xs[i]})`).toBe(Math.sign(xs[i]));
      if (xs[i] === 0) expect(Object.is(got[i], xs[i]), 'erf(±0) = ±0').toBe(true);
    }
    expect(worst, `worst error ${worst.toFixed(3)} ulp at x = ${at}`).toBeLessThanOrEqual(1.1);
    expect(Number.isNaN(kn.erf(kn.array([NaN], 'float32')).item() as number)).toBe(true);
    const fused = kn.compile((a: kn.NDArray) => kn.multiply(kn.erf(a), 1))(x) as kn.NDArray;
    // the first differing element, not toEqual: a diff of 900k numbers takes minutes to print
    const fb = fused.toTypedArray() as Float32Array;
    expect(fb.length).toBe(got.length);
    let bad = -1;
    for (let i = 0; i < got.length && bad < 0; i++) if (!Object.is(fb[i], got[i]) && !(Number.isNaN(fb[i]) && Number.isNaN(got[i]))) bad = i;
    expect(bad, bad < 0 ? '' : `fused erf(${xs[bad]}) is ${fb[bad]}, eager gives ${got[bad]}`).toBe(-1);
  });
});
