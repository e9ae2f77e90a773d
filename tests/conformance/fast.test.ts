// The fused kernels (rms_norm, layer_norm, rope, attention) on every float dtype and input
// layout, with poisoned output memory so an unwritten element shows up, against the float64
// references of tests/fast (which hold the detailed per-op suites).
import { describe, it } from 'vitest';
import * as kn from '../../index.js';
import { FLOATS, LAYOUTS, expectClose, makeInput, rng } from '../fast/helpers.js';
import { attentionRef, layerNormRef, rmsNormRef, ropeRef } from '../fast/reference.js';
import { nbytesOf, poison, runCase } from './util.js';

/** Evaluates the inputs first, poisons the cache for the output's size, then evaluates `f()`. */
function poisoned(inputs: kn.NDArray[], f: () => kn.NDArray): kn.NDArray {
  kn.eval(...inputs);
  const probe = f();
  poison(nbytesOf(probe.dtype as never, probe.shape));
  return probe.eval();
}

describe('fused kernels with poisoned outputs', () => {
  for (const dtype of FLOATS)
    for (const layout of LAYOUTS)
      it(`${dtype} ${layout}`, () => {
        const rand = rng(FLOATS.indexOf(dtype) * 10 + LAYOUTS.indexOf(layout));
        runCase(() => {
          const x = makeInput([6, 40], dtype, layout, rand),
            w = makeInput([40], dtype, 'sliced', rand),
            b = makeInput([40], dtype, 'flipped', rand);
          const rms = poisoned([x.arr, w.arr], () => kn.fast.rmsNorm(x.arr, w.arr, 1e-5));
          expectClose(rms, rmsNormRef({ x: x.vals, shape: [6, 40], weight: w.vals, eps: 1e-5 }), dtype, 4, 1, 'rms_norm');
          const ln = poisoned([x.arr, w.arr, b.arr], () => kn.fast.layerNorm(x.arr, w.arr, b.arr, 1e-5));
          expectClose(ln, layerNormRef({ x: x.vals, shape: [6, 40], weight: w.vals, bias: b.vals, eps: 1e-5 }), dtype, 8, 1, 'layer_norm');

          const r = makeInput([2, 5, 12], dtype, layout, rand);
          for (const traditional of [false, true]) {
            const y = poisoned([r.arr], () => kn.fast.rope(r.arr, 8, { traditional, offset: 9 }));
            const ref = ropeRef({ x: r.vals, shape: [2, 5, 12], dims: 8, traditional, base: 10000, scale: 1, offset: 9 });
            expectClose(y, ref, dtype, 4, 1, `rope traditional=${traditional}`);
          }

          const dims = { B: 2, Hq: 4, Hkv: 2, L: 9, S: 70, D: 8, Dv: 12 };
          const q = makeInput([2, 4, 9, 8], dtype, layout, rand),
            k = makeInput([2, 2, 70, 8], dtype, layout, rand);
          const v = makeInput([2, 2, 70, 12], dtype, layout, rand);
          for (const mask of [null, 'causal'] as const) {
            const y = poisoned([q.arr, k.arr, v.arr], () => kn.fast.scaledDotProductAttention(q.arr, k.arr, v.arr, { scale: 0.5, mask }));
            const ref = attentionRef({ q: q.vals, k: k.vals, v: v.vals, dims, scale: 0.5, mask });
            expectClose(y, ref, dtype, 16, 1, `attention mask=${mask}`);
          }
        });
      });
});
