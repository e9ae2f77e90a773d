// Gradient and batching rules of the dense linear algebra kernels (Linalg, LinalgMulti). Every
// operand is a batch of matrices [b, rows, cols]; the rules are the standard matrix-calculus
// results, written with the same kernels (solve, triangular solve, inv) so they differentiate again.
import type { NDArray } from '../../core/array.js';
import type { Node } from '../../core/node.js';
import { Linalg, LinalgMulti } from '../../core/primitives.js';
import { defineRules, type MultiRuleContext, type RuleContext } from '../../core/rules.js';
import { full, zeros } from '../creation.js';
import { eye, tril, triu } from '../grids_diagonals.js';
import { add, multiply, negative, subtract } from '../elementwise.js';
import { inv, solve, solveTriangular } from '../linalg.js';
import { make, multi } from '../make.js';
import { matmul } from '../matmul.js';
import { sum } from '../reduce.js';
import { concatenate } from '../shape.js';
import { broadcastTo, reshape, slice, swapaxes } from '../views.js';
import { batchFirst, batchSize } from './util.js';

const mT = (x: NDArray) => swapaxes(x, -1, -2);
const args = (n: Node) => (n.params.args as number[] | undefined) ?? [];
const sumOrOne = (a: NDArray | null, b: NDArray | null) => (a && b ? add(a, b) : (a ?? b));

/** lower triangle with the diagonal halved (the map that appears in the Cholesky derivative) */
function phi(m: NDArray): NDArray {
  const n = m.shape[m.ndim - 1];
  return multiply(tril(m), subtract(1, multiply(eye(n, n, 0, m.dtype), 0.5)));
}

/** the part of a matrix a triangular solve reads (strict triangle when the diagonal is unit) */
function triangleMask(n: number, upper: boolean, unit: boolean, dt: NDArray['dtype']): NDArray {
  const ones = full([n, n], 1, dt);
  return upper ? triu(ones, unit ? 1 : 0) : tril(ones, unit ? -1 : 0);
}

/** X R^-1 for an upper triangular R (a right solve, through the transpose) */
const rightSolveUpper = (x: NDArray, r: NDArray) => mT(solveTriangular(mT(r), mT(x), { upper: false }));

// ---- Linalg ---------------------------------------------------------------------------------

function linalgVjp(ctx: RuleContext, g: NDArray, wrt: readonly boolean[]): (NDArray | null)[] {
  const n = ctx.node,
    y = ctx.output;
  switch (n.params.kernel as string) {
    case 'inv': {
      const yt = mT(y);
      return [negative(matmul(yt, matmul(g, yt)))];
    }
    case 'solve': {
      const [a] = ctx.inputs;
      const gb = solve(mT(a), g);
      return [wrt[0] ? negative(matmul(gb, mT(y))) : null, wrt[1] ? gb : null];
    }
    case 'solve_triangular': {
      const [a] = ctx.inputs;
      const [upper, unit] = args(n).map((v) => v !== 0);
      const gb = solveTriangular(mT(a), g, { upper: !upper, unitDiagonal: unit });
      const mask = triangleMask(a.shape[2], upper, unit, a.dtype);
      return [wrt[0] ? multiply(negative(matmul(gb, mT(y))), mask) : null, wrt[1] ? gb : null];
    }
    case 'cholesky': {
      // A = L Lᵀ read from A's lower triangle: Ā = Φ(P + Pᵀ), P = L⁻ᵀ Φ(Lᵀ Ḡ) L⁻¹
      const upper = args(n)[0] !== 0;
      const L = upper ? mT(y) : y,
        gl = upper ? mT(g) : g;
      const z = solveTriangular(mT(L), phi(matmul(mT(L), gl)), { upper: true });
      const p = mT(solveTriangular(mT(L), mT(z), { upper: true }));
      return [phi(add(p, mT(p)))];
    }
    case 'det': {
      // d det = det · tr(A⁻¹ dA)
      return [multiply(multiply(g, y), mT(inv(ctx.inputs[0])))];
    }
    default:
      throw new Error(`[grad] no vjp for the linalg kernel '${n.params.kernel}'`);
  }
}

function linalgJvp(ctx: RuleContext, ts: readonly (NDArray | null)[]): NDArray | null {
  const n = ctx.node,
    y = ctx.output;
  switch (n.params.kernel as string) {
    case 'inv':
      return negative(matmul(y, matmul(ts[0]!, y)));
    case 'solve': {
      const [a] = ctx.inputs;
      const [ta, tb] = ts;
      const rhs = sumOrOne(tb, ta ? negative(matmul(ta, y)) : null)!;
      return solve(a, rhs);
    }
    case 'solve_triangular': {
      const [a] = ctx.inputs;
      const [ta, tb] = ts;
      const [upper, unit] = args(n).map((v) => v !== 0);
      const ma = ta ? multiply(ta, triangleMask(a.shape[2], upper, unit, a.dtype)) : null;
      const rhs = sumOrOne(tb, ma ? negative(matmul(ma, y)) : null)!;
      return solveTriangular(a, rhs, { upper, unitDiagonal: unit });
    }
    case 'cholesky': {
      // the kernel reads the lower triangle as a symmetric matrix S; dL = L Φ(L⁻¹ dS L⁻ᵀ)
      const upper = args(n)[0] !== 0;
      const L = upper ? mT(y) : y;
      const t = ts[0]!;
      const dS = add(tril(t), mT(tril(t, -1)));
      const w = solveTriangular(L, dS, { upper: false });
      const k = mT(solveTriangular(L, mT(w), { upper: false }));
      const dL = matmul(L, phi(k));
      return upper ? mT(dL) : dL;
    }
    case 'det': {
      const tr = sum(multiply(mT(inv(ctx.inputs[0])), ts[0]!), [-2, -1], { keepdims: true });
      return multiply(y, tr);
    }
    default:
      throw new Error(`[grad] no jvp for the linalg kernel '${n.params.kernel}'`);
  }
}

/** Folds the vmap batch into the matrices' own batch dim: every operand becomes [Bt * b, r, c]. */
function foldBatch(node: Node, inputs: NDArray[], axes: readonly (number | null)[]): { ins: NDArray[]; Bt: number } {
  const Bt = batchSize(inputs, axes);
  const ins = inputs.map((v, i) => {
    const s = node.inputs[i].shape;
    const v4 = axes[i] === null ? broadcastTo(v, [Bt, ...s]) : batchFirst(v, axes[i]);
    return reshape(v4, [Bt * s[0], ...s.slice(1)]);
  });
  return { ins, Bt };
}

const linalgVmap = (node: Node, inputs: NDArray[], axes: readonly (number | null)[]): [NDArray, number] => {
  const { ins, Bt } = foldBatch(node, inputs, axes);
  const out = make(node.primitive, node.params as Record<string, unknown>, ins, [Bt * node.shape[0], ...node.shape.slice(1)], node.dtype);
  return [reshape(out, [Bt, ...node.shape]), 0];
};

defineRules(Linalg, { vjp: linalgVjp, jvp: linalgJvp, vmap: linalgVmap });

// ---- LinalgMulti: qr (Q, R) and slogdet (sign, log|det|) ----------------------------------

/** cotangent of A = QR (square or tall: R is k×k with k = n) from those of Q and R */
function qrTallVjp(q: NDArray, r: NDArray, gq: NDArray, gr: NDArray): NDArray {
  // Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ with M = R̄ Rᵀ - Qᵀ Q̄ and copyltu(M) = triu(M) + triu(M, 1)ᵀ
  const m = subtract(matmul(gr, mT(r)), matmul(mT(q), gq));
  const sym = add(triu(m), mT(triu(m, 1)));
  const y = add(gq, matmul(q, sym));
  return mT(solveTriangular(r, mT(y), { upper: true }));
}

/** tangents of Q and R of a square or tall QR given dA */
function qrTallJvp(q: NDArray, r: NDArray, da: NDArray): [NDArray, NDArray] {
  const daRi = rightSolveUpper(da, r);
  const c = matmul(mT(q), daRi);
  const low = tril(c, -1);
  const omega = subtract(low, mT(low));
  const u = subtract(c, omega); // upper triangular: dR R⁻¹
  return [subtract(daRi, matmul(q, u)), matmul(u, r)];
}

function multiVjp(ctx: MultiRuleContext, cts: readonly (NDArray | null)[]): (NDArray | null)[] {
  const n = ctx.node;
  const [a] = ctx.inputs;
  const ct = (i: number) => cts[i] ?? zeros(ctx.outputs[i].shape, ctx.outputs[i].dtype);
  if (n.params.kernel === 'slogdet') return [cts[1] ? multiply(cts[1], mT(inv(a))) : null];
  if (n.params.kernel !== 'qr') throw new Error(`[grad] no vjp for the linalg kernel '${n.params.kernel}'`);
  const [q, r] = ctx.outputs;
  const gq = ct(0),
    gr = ct(1);
  const [rows, cols] = a.shape.slice(1);
  if (rows >= cols) return [qrTallVjp(q, r, gq, gr)];
  // wide: A = [X | Y], R = [U | V] with X = QU square and Y = QV
  const sl = (x: NDArray, start: number, stop: number) => slice(x, [{}, {}, { start, stop }]);
  const y = sl(a, rows, cols),
    u = sl(r, 0, rows),
    gu = sl(gr, 0, rows),
    gv = sl(gr, rows, cols);
  const gx = qrTallVjp(q, u, add(gq, matmul(y, mT(gv))), gu);
  return [concatenate([gx, matmul(q, gv)], 2)];
}

function multiJvp(ctx: MultiRuleContext, [t]: readonly (NDArray | null)[]): (NDArray | null)[] {
  const n = ctx.node;
  const [a] = ctx.inputs;
  if (n.params.kernel === 'slogdet') return [null, sum(multiply(mT(inv(a)), t!), [-2, -1], { keepdims: true })];
  if (n.params.kernel !== 'qr') throw new Error(`[grad] no jvp for the linalg kernel '${n.params.kernel}'`);
  const [q, r] = ctx.outputs;
  const [rows, cols] = a.shape.slice(1);
  if (rows >= cols) return qrTallJvp(q, r, t!);
  const sl = (x: NDArray, start: number, stop: number) => slice(x, [{}, {}, { start, stop }]);
  const u = sl(r, 0, rows),
    v = sl(r, rows, cols);
  const [dq, du] = qrTallJvp(q, u, sl(t!, 0, rows));
  const dv = matmul(mT(q), subtract(sl(t!, rows, cols), matmul(dq, v)));
  return [dq, concatenate([du, dv], 2)];
}

function multiVmap(node: Node, inputs: NDArray[], axes: readonly (number | null)[]): [NDArray[], number[]] {
  const { ins, Bt } = foldBatch(node, inputs, axes);
  const sibs = node.siblings!;
  const outs = multi(
    node.primitive,
    { kernel: node.params.kernel },
    ins,
    sibs.map((s) => [Bt * s.shape[0], ...s.shape.slice(1)]),
    sibs.map((s) => s.dtype),
  );
  return [outs.map((o, i) => reshape(o, [Bt, ...sibs[i].shape])), sibs.map(() => 0)];
}

defineRules(LinalgMulti, { vjpOutputs: multiVjp, jvpOutputs: multiJvp, vmapOutputs: multiVmap });
