// Gradient and batching rules of Gather and Scatter. Both work on 3-d operands [A, N, B] (see
// backends/cpu/kernels/index.cc): gather out[a, m, b] = src[a, idx[a, m, b], b] (idx may have
// size-1 A or B dims that broadcast); scatter applies upd[a, m, b] to out[a, idx[a, m, b], b]
// in order of m, so repeated indices accumulate (add, multiply, ...) or the last one wins (set).
import type { NDArray } from '../../core/array.js';
import { Gather, Scatter } from '../../core/primitives.js';
import { defineRules, type RuleContext } from '../../core/rules.js';
import { arange, full, ones, zeros } from '../creation.js';
import { add, astype, divide, equal, isnan, logicalOr, multiply, negative, subtract, where } from '../elementwise.js';
import { make } from '../make.js';
import { broadcastTo, reshape, transpose } from '../views.js';
import { batchFirst, batchSize, differentiable } from './util.js';

const MODE = { set: 0, add: 1, multiply: 2, maximum: 3, minimum: 4, subtract: 5, divide: 6 } as const;

/** out[a, m, b] = src[a, idx[a, m, b], b] */
function gather3(src: NDArray, idx: NDArray): NDArray {
  return make(Gather, {}, [src, idx], [src.shape[0], idx.shape[1], src.shape[2]], src.dtype);
}

/** base with upd applied at idx along the middle axis (idx and upd are [A, M, B]) */
function scatter3(mode: number, base: NDArray, idx: NDArray, upd: NDArray): NDArray {
  return make(Scatter, { mode }, [base, idx, upd], base.shape, base.dtype);
}

// ---- gather ---------------------------------------------------------------------------------

defineRules(Gather, {
  vjp: (ctx, g) => {
    const [src, idx] = ctx.inputs;
    if (!differentiable(src)) return [null, null];
    // every gathered element sends its cotangent back to where it was read; repeats add up
    const full3 = broadcastTo(idx, g.shape);
    return [scatter3(MODE.add, zeros(src.shape, g.dtype), full3, g), null];
  },
  jvp: (ctx, [t]) => (t && differentiable(ctx.output) ? gather3(t, ctx.inputs[1]) : null),
  vmap: (node, [src, idx], [sa, ia]) => {
    const [A, M, B] = node.shape;
    if (sa === null) {
      // shared source: fold the batch of indices into the gathered axis M
      const i4 = batchFirst(idx, ia); // [Bt, IA, M, IB]
      const Bt = i4.shape[0];
      const folded = reshape(transpose(i4, [1, 0, 2, 3]), [i4.shape[1], Bt * M, i4.shape[3]]);
      return [reshape(gather3(src, folded), [A, Bt, M, B]), 1];
    }
    // batched source: fold the batch into A (indices follow, broadcast where they are shared)
    const s4 = batchFirst(src, sa);
    const Bt = s4.shape[0];
    const s3 = reshape(s4, [Bt * A, s4.shape[2], B]);
    let i3: NDArray;
    if (ia === null) i3 = idx.shape[0] === 1 ? idx : reshape(broadcastTo(idx, [Bt, ...idx.shape]), [Bt * A, M, idx.shape[2]]);
    else {
      const i4 = batchFirst(idx, ia);
      i3 = reshape(broadcastTo(i4, [Bt, A, M, i4.shape[3]]), [Bt * A, M, i4.shape[3]]);
    }
    return [reshape(gather3(s3, i3), [Bt, A, M, B]), 0];
  },
});

// ---- scatter --------------------------------------------------------------------------------

/** How each mode's output depends on base and updates, from the primal values. */
interface ScatterDerivative {
  vjp(g: NDArray): [NDArray, NDArray];
  jvp(tb: NDArray | null, tu: NDArray | null): NDArray | null;
}

function scatterDerivative(ctx: RuleContext): ScatterDerivative | null {
  const [x, idx, u] = ctx.inputs,
    y = ctx.output;
  const mode = ctx.node.params.mode as number;
  const dt = x.dtype;
  const zerosX = () => zeros(x.shape, dt),
    zerosU = () => zeros(u.shape, dt);
  const addAt = (v: NDArray) => scatter3(MODE.add, zerosX(), idx, v);
  switch (mode) {
    case MODE.add:
    case MODE.subtract: {
      const sign = mode === MODE.add ? 1 : -1;
      return {
        vjp: (g) => [g, sign > 0 ? gather3(g, idx) : negative(gather3(g, idx))],
        jvp: (tb, tu) => (tu ? scatter3(mode, tb ?? zerosX(), idx, tu) : tb),
      };
    }
    case MODE.set: {
      // the base keeps its value where nothing was written; of repeated writes only the last counts
      const written = scatter3(MODE.set, zerosX(), idx, ones(u.shape, dt));
      const keep = subtract(1, written);
      const pos = broadcastTo(reshape(arange(u.shape[1], 'int32'), [1, u.shape[1], 1]), u.shape);
      const last = scatter3(MODE.maximum, full(x.shape, -1, 'int32'), idx, pos);
      const isLast = equal(gather3(last, idx), pos);
      return {
        vjp: (g) => [multiply(g, keep), where(isLast, gather3(g, idx), 0)],
        jvp: (tb, tu) => scatter3(MODE.set, tb ?? zerosX(), idx, tu ?? zerosU()),
      };
    }
    case MODE.multiply: {
      // y = x * prod(u at each target); the product of the *other* factors is computed without
      // dividing by a zero factor: count the zeros per target and multiply the non-zero ones
      const isZero = equal(u, 0);
      const zeroCount = gather3(addAt(astype(isZero, dt)), idx);
      const nonZero = gather3(scatter3(MODE.multiply, ones(x.shape, dt), idx, where(isZero, 1, u)), idx);
      const others = where(isZero, where(equal(zeroCount, 1), nonZero, 0), where(equal(zeroCount, 0), divide(nonZero, where(isZero, 1, u)), 0));
      const P = scatter3(MODE.multiply, ones(x.shape, dt), idx, u);
      const dydu = multiply(gather3(x, idx), others);
      return {
        vjp: (g) => [multiply(g, P), multiply(gather3(g, idx), dydu)],
        jvp: (tb, tu) => {
          const a = tb ? multiply(tb, P) : null,
            b = tu ? addAt(multiply(tu, dydu)) : null;
          return a && b ? add(a, b) : (a ?? b);
        },
      };
    }
    case MODE.divide: {
      // y = x / prod(u at each target): dy/dx = y / x = 1 / prod, dy/du[m] = -y / u[m]
      const D = scatter3(MODE.divide, ones(x.shape, dt), idx, u);
      const dydu = negative(divide(gather3(y, idx), u));
      return {
        vjp: (g) => [multiply(g, D), multiply(gather3(g, idx), dydu)],
        jvp: (tb, tu) => {
          const a = tb ? multiply(tb, D) : null,
            b = tu ? addAt(multiply(tu, dydu)) : null;
          return a && b ? add(a, b) : (a ?? b);
        },
      };
    }
    case MODE.maximum:
    case MODE.minimum: {
      // every candidate equal to the result (base or update; NaN wins) shares the gradient evenly
      const hitX = astype(logicalOr(equal(x, y), isnan(x)), dt);
      const hitU = astype(logicalOr(equal(u, gather3(y, idx)), isnan(u)), dt);
      const count = add(hitX, addAt(hitU));
      const wx = divide(hitX, count),
        wu = divide(hitU, gather3(count, idx));
      return {
        vjp: (g) => [multiply(g, wx), multiply(gather3(g, idx), wu)],
        jvp: (tb, tu) => {
          const a = tb ? multiply(tb, wx) : null,
            b = tu ? addAt(multiply(tu, wu)) : null;
          return a && b ? add(a, b) : (a ?? b);
        },
      };
    }
    default:
      throw new Error(`[grad] internal: unknown scatter mode ${mode}`);
  }
}

defineRules(Scatter, {
  vjp: (ctx, g, wrt) => {
    if (!differentiable(ctx.output)) return [null, null, null];
    const [gx, gu] = scatterDerivative(ctx)!.vjp(g);
    return [wrt[0] ? gx : null, null, wrt[2] ? gu : null];
  },
  jvp: (ctx, [tb, , tu]) => {
    if (!differentiable(ctx.output) || (!tb && !tu)) return null;
    return scatterDerivative(ctx)!.jvp(tb, tu);
  },
  // the batch folds into A for all three operands (a shared one is broadcast, hence copied)
  vmap: (node, inputs, axes) => {
    const Bt = batchSize(inputs, axes);
    const [A, N, B] = node.shape;
    const fold = inputs.map((v, i) => {
      const s = node.inputs[i].shape;
      const v4 = axes[i] === null ? broadcastTo(v, [Bt, ...s]) : batchFirst(v, axes[i]);
      return reshape(v4, [Bt * s[0], s[1], s[2]]);
    });
    return [reshape(make(Scatter, { mode: node.params.mode }, fold, [Bt * A, N, B], node.dtype), [Bt, A, N, B]), 0];
  },
});
