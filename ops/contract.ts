// Contractions built on matmul: inner, outer, tensordot, einsum, addmm. Every contraction
// becomes transposes/reshapes (views where possible) around one batched matmul, so no
// intermediate larger than the operands and the result is ever built.
import type { NDArray } from '../core/array.js';
import { fmtShape, fmtValue, normalizeAxis, sizeOf } from '../core/shape.js';
import { asArray } from './convert.js';
import { add, multiply, type Operand } from './elementwise.js';
import { matmul } from './matmul.js';
import { sum } from './reduce.js';
import { broadcastTo, reshape, slice as sliceView, transpose } from './views.js';

/**
 * Inner product over the last axes (numpy's inner).
 * @example kn.inner(kn.array([1, 2, 3]), kn.array([0, 1, 0])).item() // 2
 */
export function inner(a: NDArray, b: NDArray): NDArray {
  const x = asArray(a, 'inner'),
    y = asArray(b, 'inner');
  if (x.ndim === 0 || y.ndim === 0) return multiply(x, y);
  return tensordot(x, y, [[x.ndim - 1], [y.ndim - 1]]);
}

/**
 * Outer product of the flattened inputs.
 * @example kn.outer(kn.array([1, 2]), kn.array([1, 10])).tolist() // [[1, 10], [2, 20]]
 */
export function outer(a: NDArray, b: NDArray): NDArray {
  const x = asArray(a, 'outer'),
    y = asArray(b, 'outer');
  return multiply(reshape(x, [x.size, 1]), reshape(y, [1, y.size]));
}

/**
 * Sums products over the given axes: `axes` = N (last N of a with first N of b) or
 * [[axes of a], [axes of b]].
 * @example kn.tensordot(kn.ones([2, 3, 4]), kn.ones([3, 4, 5]), 2).shape // [2, 5]
 */
export function tensordot(a: NDArray, b: NDArray, axes: number | readonly [readonly number[], readonly number[]] = 2): NDArray {
  const x = asArray(a, 'tensordot'),
    y = asArray(b, 'tensordot');
  let ax: number[], bx: number[];
  if (typeof axes === 'number') {
    if (!Number.isInteger(axes) || axes < 0 || axes > x.ndim || axes > y.ndim)
      throw new RangeError(`[tensordot] cannot contract ${axes} axes of shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)}`);
    ax = Array.from({ length: axes }, (_, i) => x.ndim - axes + i);
    bx = Array.from({ length: axes }, (_, i) => i);
  } else {
    if (!Array.isArray(axes) || axes.length !== 2 || !Array.isArray(axes[0]) || !Array.isArray(axes[1]) || axes[0].length !== axes[1].length)
      throw new TypeError(`[tensordot] axes must be a number or two equal-length axis lists, got ${fmtValue(axes)}`);
    ax = axes[0].map((i) => normalizeAxis(i, x.ndim, 'tensordot'));
    bx = axes[1].map((i) => normalizeAxis(i, y.ndim, 'tensordot'));
  }
  ax.forEach((i, k) => {
    if (x.shape[i] !== y.shape[bx[k]])
      throw new Error(`[tensordot] axis ${i} of ${fmtShape(x.shape)} and axis ${bx[k]} of ${fmtShape(y.shape)} differ in size`);
  });
  const freeA = x.shape.map((_, i) => i).filter((i) => !ax.includes(i));
  const freeB = y.shape.map((_, i) => i).filter((i) => !bx.includes(i));
  const k = sizeOf(ax.map((i) => x.shape[i]));
  const am = reshape(transpose(x, [...freeA, ...ax]), [sizeOf(freeA.map((i) => x.shape[i])), k]);
  const bm = reshape(transpose(y, [...bx, ...freeB]), [k, sizeOf(freeB.map((i) => y.shape[i]))]);
  return reshape(matmul(am, bm), [...freeA.map((i) => x.shape[i]), ...freeB.map((i) => y.shape[i])]);
}

/**
 * beta * c + alpha * (a @ b).
 * @example kn.addmm(kn.zeros([2, 2]), kn.ones([2, 3]), kn.ones([3, 2])).tolist() // [[3, 3], [3, 3]]
 */
export function addmm(c: Operand, a: NDArray, b: NDArray, opts: { alpha?: number; beta?: number } = {}): NDArray {
  const { alpha = 1, beta = 1 } = opts;
  let p = matmul(a, b);
  if (alpha !== 1) p = multiply(p, alpha);
  return beta === 0 ? p : add(beta === 1 ? c : multiply(c, beta), p);
}

/**
 * Einstein summation with explicit (`'ij,jk->ik'`) or implicit (`'ij,jk'`) output, '...' for
 * broadcast dims, repeated subscripts inside one operand (diagonals) and any number of operands.
 * Operands are contracted pairwise, left to right, each pair as one batched matmul over the
 * labels they share, so no intermediate holds more than the pair's free labels.
 * @example kn.einsum('ij,jk->ik', kn.ones([2, 3]), kn.ones([3, 4])).shape // [2, 4]
 * @example kn.einsum('ii->i', kn.arange(9).reshape(3, 3)).tolist() // [0, 4, 8]
 */
export function einsum(subscripts: string, ...operands: NDArray[]): NDArray {
  if (typeof subscripts !== 'string') throw new TypeError('[einsum] subscripts must be a string');
  const spec = subscripts.replace(/\s+/g, '');
  const [lhs, rhsGiven] = spec.includes('->') ? spec.split('->') : [spec, undefined];
  const inputs = lhs.split(',');
  if (inputs.length !== operands.length) throw new Error(`[einsum] ${inputs.length} operand subscripts for ${operands.length} operands`);
  const xs = operands.map((o) => asArray(o, 'einsum'));
  // expand '...' into private labels (uppercase letters after the used ones)
  const ellLabels = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const maxEll = Math.max(0, ...inputs.map((s, k) => (s.includes('...') ? xs[k].ndim - (s.length - 3) : 0)));
  const ell = ellLabels.slice(ellLabels.length - maxEll);
  const terms = inputs.map((s, k) => {
    let t = s;
    if (s.includes('...')) {
      const n = xs[k].ndim - (s.length - 3);
      if (n < 0) throw new Error(`[einsum] subscripts ${s} have more labels than operand ${k} has dims`);
      t = s.replace('...', ell.slice(maxEll - n));
    }
    if (!/^[a-zA-Z]*$/.test(t)) throw new Error(`[einsum] invalid subscripts ${JSON.stringify(s)}`);
    if (t.length !== xs[k].ndim) throw new Error(`[einsum] subscripts ${JSON.stringify(s)} do not match operand ${k} of shape ${fmtShape(xs[k].shape)}`);
    return t;
  });
  const size = new Map<string, number>();
  terms.forEach((t, k) =>
    [...t].forEach((l, i) => {
      const d = xs[k].shape[i];
      const prev = size.get(l);
      if (prev === undefined || prev === 1) size.set(l, d);
      else if (d !== prev && d !== 1) throw new Error(`[einsum] label ${l} has sizes ${prev} and ${d}`);
    }),
  );
  let out: string;
  if (rhsGiven !== undefined) {
    out = rhsGiven.replace('...', ell);
    if (!/^[a-zA-Z]*$/.test(out) || new Set(out).size !== out.length) throw new Error(`[einsum] invalid output subscripts ${JSON.stringify(rhsGiven)}`);
    for (const l of out) if (!size.has(l)) throw new Error(`[einsum] output label ${l} does not appear in the inputs`);
  } else {
    const counts = new Map<string, number>();
    terms.forEach((t) => [...t].forEach((l) => counts.set(l, (counts.get(l) ?? 0) + 1)));
    out =
      ell +
      [...counts.keys()]
        .filter((l) => counts.get(l) === 1 && !ell.includes(l))
        .sort()
        .join('');
  }

  // take diagonals for labels repeated inside one operand, broadcasting size-1 dims
  const norm = xs.map((x, k) => diagonalize(x, terms[k], size));
  let [cur, curT] = norm[0];
  for (let k = 1; k < norm.length; k++) {
    const [nx, nt] = norm[k];
    const later = new Set([...out, ...norm.slice(k + 1).flatMap(([, t]) => [...t])]);
    [cur, curT] = contractPair(cur, curT, nx, nt, later, size);
  }
  // sum labels not in the output, then order as requested
  const gone = [...curT].filter((l) => !out.includes(l));
  if (gone.length) {
    cur = sum(
      cur,
      gone.map((l) => curT.indexOf(l)),
    );
    curT = [...curT].filter((l) => out.includes(l)).join('');
  }
  return transpose(
    cur,
    [...out].map((l) => curT.indexOf(l)),
  );
}

function diagonalize(x: NDArray, t: string, size: Map<string, number>): [NDArray, string] {
  // broadcast size-1 dims to the label's size, then take diagonals of repeated labels
  let v = broadcastTo(
    x,
    [...t].map((l) => size.get(l)!),
  );
  let labels = t;
  for (;;) {
    const dup = [...labels].find((l, i) => labels.indexOf(l) !== i);
    if (!dup) break;
    const i = labels.indexOf(dup),
      j = labels.indexOf(dup, i + 1);
    const n = size.get(dup)!;
    // move the two axes last, then read the diagonal through a strided view of a contiguous copy
    const rest = [...labels].map((_, k) => k).filter((k) => k !== i && k !== j);
    const moved = reshape(transpose(v, [...rest, i, j]), [...rest.map((k) => v.shape[k]), n * n]);
    const idx = Array.from({ length: n }, (_, q) => q * (n + 1));
    v = takeLast(moved, idx);
    labels = rest.map((k) => labels[k]).join('') + dup;
  }
  return [v, labels];
}

function takeLast(x: NDArray, idx: number[]): NDArray {
  // a strided slice: indices are q*(n+1), an arithmetic progression
  const step = idx.length > 1 ? idx[1] - idx[0] : 1;
  const specs = x.shape.map((_, i) => (i === x.ndim - 1 ? { start: 0, stop: idx.length ? idx[idx.length - 1] + 1 : 0, step } : {}));
  return sliceView(x, specs);
}

function contractPair(a: NDArray, ta: string, b: NDArray, tb: string, keep: Set<string>, size: Map<string, number>): [NDArray, string] {
  const la = [...ta],
    lb = [...tb];
  const batch = la.filter((l) => lb.includes(l) && keep.has(l));
  const contract = la.filter((l) => lb.includes(l) && !keep.has(l));
  // labels only in one operand and not needed later are summed right away
  const sumA = la.filter((l) => !lb.includes(l) && !keep.has(l));
  const sumB = lb.filter((l) => !la.includes(l) && !keep.has(l));
  if (sumA.length) {
    a = sum(
      a,
      sumA.map((l) => la.indexOf(l)),
    );
    la.splice(0, la.length, ...la.filter((l) => !sumA.includes(l)));
  }
  if (sumB.length) {
    b = sum(
      b,
      sumB.map((l) => lb.indexOf(l)),
    );
    lb.splice(0, lb.length, ...lb.filter((l) => !sumB.includes(l)));
  }
  const freeA = la.filter((l) => !lb.includes(l));
  const freeB = lb.filter((l) => !la.includes(l));
  const sz = (ls: string[]) => sizeOf(ls.map((l) => size.get(l)!));
  const am = reshape(
    transpose(
      a,
      [...batch, ...freeA, ...contract].map((l) => la.indexOf(l)),
    ),
    [sz(batch), sz(freeA), sz(contract)],
  );
  const bm = reshape(
    transpose(
      b,
      [...batch, ...contract, ...freeB].map((l) => lb.indexOf(l)),
    ),
    [sz(batch), sz(contract), sz(freeB)],
  );
  const r = matmul(am, bm);
  const labels = [...batch, ...freeA, ...freeB];
  return [
    reshape(
      r,
      labels.map((l) => size.get(l)!),
    ),
    labels.join(''),
  ];
}
