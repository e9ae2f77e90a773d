// Gradient and batching rules of eigh and svd (ops/linalg_decomp.ts): the standard results of
// matrix calculus (eigenvector and singular-vector terms need distinct values), written with ops
// that differentiate again. Every operand is a batch of matrices [b, rows, cols].
import type { NDArray } from '../../core/array.js';
import type { Node } from '../../core/node.js';
import { defineRules, type MultiRuleContext } from '../../core/rules.js';
import { zeros } from '../creation.js';
import { eye, tril, triu } from '../grids_diagonals.js';
import { add, divide, multiply, subtract, where } from '../elementwise.js';
import { Decomp } from '../linalg_decomp.js';
import { multi } from '../make.js';
import { matmul } from '../matmul.js';
import { concatenate } from '../shape.js';
import { broadcastTo, reshape, slice, swapaxes } from '../views.js';
import { batchFirst, batchSize } from './util.js';

const mT = (x: NDArray) => swapaxes(x, -1, -2);
const sumOrNull = (parts: (NDArray | null)[]) => parts.reduce<NDArray | null>((p, q) => (p && q ? add(p, q) : (p ?? q)), null);

/** F[i, j] = 1 / (d[j] - d[i]) off the diagonal, 0 on it (d: [b, 1, n]) */
function gapInverse(d: NDArray): NDArray {
  const n = d.shape[2];
  const diff = subtract(d, mT(d));
  const off = eye(n, n, 0, 'bool').logicalNot();
  return where(off, divide(1, where(off, diff, 1)), 0);
}
const diagOf = (v: NDArray) => multiply(eye(v.shape[2], v.shape[2], 0, v.dtype), v); // [b,1,n] -> [b,n,n]
const diagPart = (m: NDArray) => reshape(m.diagonal(0, 1, 2), [m.shape[0], 1, m.shape[2]]);
/** lower (or upper) triangle of m with the diagonal halved */
function halfDiag(m: NDArray, upper: boolean): NDArray {
  const n = m.shape[m.ndim - 1];
  return multiply(upper ? triu(m) : tril(m), subtract(1, multiply(eye(n, n, 0, m.dtype), 0.5)));
}
const cols = (x: NDArray, k: number) => (x.shape[2] === k ? x : slice(x, [{}, {}, { stop: k }]));
const rows = (x: NDArray, k: number) => (x.shape[1] === k ? x : slice(x, [{}, { stop: k }, {}]));

function eighVjp(ctx: MultiRuleContext, [gw, gv]: readonly (NDArray | null)[]): (NDArray | null)[] {
  const [w, v] = ctx.outputs;
  const upper = (ctx.node.params.args as number[])[0] !== 0;
  const inner = sumOrNull([gw ? diagOf(gw) : null, gv ? multiply(gapInverse(w), matmul(mT(v), gv)) : null]);
  if (!inner) return [null];
  const g = matmul(v, matmul(inner, mT(v)));
  // the kernel reads one triangle as a symmetric matrix: each off-diagonal entry stands for two
  return [halfDiag(add(g, mT(g)), upper)];
}

function eighJvp(ctx: MultiRuleContext, [t]: readonly (NDArray | null)[]): (NDArray | null)[] {
  if (!t) return [null, null];
  const [w, v] = ctx.outputs;
  const upper = (ctx.node.params.args as number[])[0] !== 0;
  const dS = upper ? add(triu(t), mT(triu(t, 1))) : add(tril(t), mT(tril(t, -1)));
  const p = matmul(mT(v), matmul(dS, v));
  return [diagPart(p), matmul(v, multiply(gapInverse(w), p))];
}

function svdVjp(ctx: MultiRuleContext, [gu0, gs, gvt0]: readonly (NDArray | null)[]): (NDArray | null)[] {
  const [a] = ctx.inputs;
  const [m, n] = a.shape.slice(1),
    k = Math.min(m, n);
  const [U0, s, Vt0] = ctx.outputs;
  const U = cols(U0, k),
    V = mT(rows(Vt0, k));
  // extra columns of full U / rows of full Vt are not unique: their cotangents are ignored
  const gu = gu0 ? cols(gu0, k) : null,
    gv = gvt0 ? mT(rows(gvt0, k)) : null;
  const s2 = multiply(s, s);
  const F = gapInverse(s2);
  const S = diagOf(s);
  const sinv = mT(divide(1, s)); // [b, k, 1] scales rows by 1/s
  const parts: (NDArray | null)[] = [gs ? diagOf(gs) : null];
  if (gu) {
    const ug = matmul(mT(U), gu);
    parts.push(matmul(multiply(F, subtract(ug, mT(ug))), S));
  }
  if (gv) {
    const vg = matmul(mT(V), gv);
    parts.push(matmul(S, multiply(F, subtract(vg, mT(vg)))));
  }
  const inner = sumOrNull(parts);
  const terms: (NDArray | null)[] = [inner ? matmul(U, matmul(inner, mT(V))) : null];
  if (gu && m > k) {
    const proj = subtract(gu, matmul(U, matmul(mT(U), gu)));
    terms.push(matmul(proj, multiply(sinv, mT(V))));
  }
  if (gv && n > k) {
    const proj = subtract(mT(gv), matmul(matmul(mT(gv), V), mT(V)));
    terms.push(matmul(U, multiply(sinv, proj)));
  }
  return [sumOrNull(terms) ?? zeros(a.shape, a.dtype)];
}

function svdJvp(ctx: MultiRuleContext, [t]: readonly (NDArray | null)[]): (NDArray | null)[] {
  if (!t) return [null, null, null];
  const [a] = ctx.inputs;
  const [m, n] = a.shape.slice(1),
    k = Math.min(m, n);
  const [U0, s, Vt0] = ctx.outputs;
  const U = cols(U0, k),
    V = mT(rows(Vt0, k));
  const F = gapInverse(multiply(s, s));
  const S = diagOf(s);
  const sinvRow = divide(1, s); // [b, 1, k] scales columns by 1/s
  const dP = matmul(mT(U), matmul(t, V));
  const ds = diagPart(dP);
  let dU = matmul(U, multiply(F, add(matmul(dP, S), matmul(S, mT(dP)))));
  let dV = matmul(V, multiply(F, add(matmul(S, dP), matmul(mT(dP), S))));
  if (m > k) dU = add(dU, multiply(subtract(matmul(t, V), matmul(U, matmul(mT(U), matmul(t, V)))), sinvRow));
  if (n > k) dV = add(dV, multiply(subtract(matmul(mT(t), U), matmul(V, matmul(mT(V), matmul(mT(t), U)))), sinvRow));
  // full factors: the completed columns get no tangent
  if (U0.shape[2] > k) dU = concatenate([dU, zeros([dU.shape[0], m, U0.shape[2] - k], dU.dtype)], 2);
  let dVt = mT(dV);
  if (Vt0.shape[1] > k) dVt = concatenate([dVt, zeros([dVt.shape[0], Vt0.shape[1] - k, n], dVt.dtype)], 1);
  return [dU, ds, dVt];
}

function vmapDecomp(node: Node, inputs: NDArray[], axes: readonly (number | null)[]): [NDArray[], number[]] {
  const Bt = batchSize(inputs, axes);
  const s = node.inputs[0].shape;
  const x = axes[0] === null ? broadcastTo(inputs[0], [Bt, ...s]) : batchFirst(inputs[0], axes[0]);
  const sibs = node.siblings!;
  const outs = multi(
    Decomp,
    { kernel: node.params.kernel, args: node.params.args },
    [reshape(x, [Bt * s[0], s[1], s[2]])],
    sibs.map((o) => [Bt * o.shape[0], ...o.shape.slice(1)]),
    sibs.map((o) => o.dtype),
  );
  return [outs.map((o, i) => reshape(o, [Bt, ...sibs[i].shape])), sibs.map(() => 0)];
}

defineRules(Decomp, {
  vjpOutputs: (ctx, cts) => (ctx.node.params.kernel === 'eigh' ? eighVjp(ctx, cts) : svdVjp(ctx, cts)),
  jvpOutputs: (ctx, ts) => (ctx.node.params.kernel === 'eigh' ? eighJvp(ctx, ts) : svdJvp(ctx, ts)),
  vmapOutputs: vmapDecomp,
});
