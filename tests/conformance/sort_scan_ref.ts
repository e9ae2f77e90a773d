// Plain TypeScript references for the sort and scan kernel families (sort.test.ts, scan.test.ts):
// numpy's sort order (NaN last, -0 == +0), stable sorts, searches, and sequential scans that
// round each step the way the kernels do. Imports nothing from the library.
import {
  EPS,
  contiguousStrides,
  is64,
  isFloat,
  isInt,
  logaddexp,
  roundTo,
  sizeOf,
  sumDType,
  toBig,
  toNum,
  wrapInt,
  wrapNum,
  type DType,
  type RArray,
  type Val,
} from './reference.js';

// ---- order --------------------------------------------------------------------------------

/** numpy's sort order: <0, 0, >0 (NaN greatest and equal to NaN; -0 equals +0). */
export function cmp(a: Val, b: Val): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const x = toNum(a),
    y = toNum(b);
  const nx = Number.isNaN(x),
    ny = Number.isNaN(y);
  if (nx || ny) return nx && ny ? 0 : nx ? 1 : -1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Stable sorting indices of a row (Array.prototype.sort is stable). */
export function argsortRow(row: readonly Val[]): number[] {
  return row.map((_, i) => i).sort((i, j) => cmp(row[i], row[j]) || i - j);
}
export const sortRow = (row: readonly Val[]): Val[] => argsortRow(row).map((i) => row[i]);

/** Index where v goes into the sorted row (numpy's searchsorted). */
export function searchRow(sorted: readonly Val[], v: Val, side: 'left' | 'right'): number {
  let i = 0;
  while (i < sorted.length && (side === 'left' ? cmp(sorted[i], v) < 0 : cmp(sorted[i], v) <= 0)) i++;
  return i;
}

// ---- along an axis ------------------------------------------------------------------------

/**
 * Applies `fn` to every 1-d row of `a` along `axis`; `fn` returns the new row (length `outLen`,
 * default the axis length), which replaces the axis in the result.
 */
export function alongAxis(a: RArray, axis: number, fn: (row: Val[]) => Val[], dtype: DType, outLen?: number, err?: (row: Val[]) => number[]): RArray {
  const nd = a.shape.length;
  const n = a.shape[axis],
    m = outLen ?? n;
  const shape = a.shape.slice();
  shape[axis] = m;
  const st = contiguousStrides(a.shape),
    ost = contiguousStrides(shape);
  const out: Val[] = new Array(sizeOf(shape));
  const errs: number[] | undefined = err ? new Array(sizeOf(shape)).fill(0) : undefined;
  const outer = a.shape.filter((_, i) => i !== axis);
  const count = sizeOf(outer);
  for (let r = 0; r < count; r++) {
    let rem = r,
      base = 0,
      obase = 0;
    for (let d = nd - 1; d >= 0; d--) {
      if (d === axis) continue;
      const i = rem % a.shape[d];
      rem = Math.floor(rem / a.shape[d]);
      base += i * st[d];
      obase += i * ost[d];
    }
    const row = Array.from({ length: n }, (_, i) => a.data[base + i * st[axis]]);
    const res = fn(row);
    const e = err?.(row);
    for (let i = 0; i < m; i++) {
      out[obase + i * ost[axis]] = res[i];
      if (errs && e) errs[obase + i * ost[axis]] = e[i];
    }
  }
  return { dtype, shape, data: out, ...(errs ? { err: errs } : {}) };
}

/** `a` flattened (for axis null / undefined). */
export const flat = (a: RArray): RArray => ({ ...a, shape: [sizeOf(a.shape)] });

// ---- scans ----------------------------------------------------------------------------------

export const SCAN_OPS = ['cumsum', 'cumprod', 'cummax', 'cummin', 'logcumsumexp'] as const;
export type ScanOp = (typeof SCAN_OPS)[number];

export function scanDType(op: ScanOp, d: DType): DType {
  if (op === 'cumsum' || op === 'cumprod') return sumDType(d);
  if (op === 'logcumsumexp') return isFloat(d) ? d : 'float32';
  return d;
}

/**
 * One row of a scan, sequential, rounding as the kernel: integer sums/products wrap in the output
 * dtype; float32 (and float16/bfloat16, whose accumulator is float32) round each step to float32;
 * cummax/cummin propagate NaN; logcumsumexp is computed in double (compare with a tolerance).
 */
export function scanRow(op: ScanOp, d: DType, row: readonly Val[], reverse: boolean, inclusive: boolean): Val[] {
  const od = scanDType(op, d);
  const n = row.length;
  const out: Val[] = new Array(n);
  const order = Array.from({ length: n }, (_, i) => (reverse ? n - 1 - i : i));
  if (isInt(od) && !is64(od)) {
    // exact in doubles: sums stay below 2^53, products wrap via imul
    const signed = od.startsWith('int');
    const bitsOf = Number(od.replace(/\D/g, ''));
    let acc =
      op === 'cumsum' ? 0 : op === 'cumprod' ? 1 : op === 'cummax' ? (signed ? -(2 ** (bitsOf - 1)) : 0) : signed ? 2 ** (bitsOf - 1) - 1 : 2 ** bitsOf - 1;
    for (const i of order) {
      const x = toNum(row[i]);
      if (!inclusive) out[i] = acc;
      if (op === 'cumsum') acc = wrapNum(od, acc + x);
      else if (op === 'cumprod') acc = wrapNum(od, Math.imul(acc, x) >>> 0);
      else if (op === 'cummax') acc = x > acc ? x : acc;
      else acc = x < acc ? x : acc;
      if (inclusive) out[i] = acc;
    }
    return out;
  }
  if (isInt(od)) {
    let acc: bigint;
    const step: (a: bigint, x: bigint) => bigint =
      op === 'cumsum' ? (a, x) => a + x : op === 'cumprod' ? (a, x) => a * x : op === 'cummax' ? (a, x) => (x > a ? x : a) : (a, x) => (x < a ? x : a);
    if (op === 'cumsum') acc = 0n;
    else if (op === 'cumprod') acc = 1n;
    else {
      // identity of max/min: the dtype's extremes
      const bitsOf = Number(od.replace(/\D/g, ''));
      const signed = od.startsWith('int');
      const lo = signed ? -(1n << BigInt(bitsOf - 1)) : 0n,
        hi = signed ? (1n << BigInt(bitsOf - 1)) - 1n : (1n << BigInt(bitsOf)) - 1n;
      acc = op === 'cummax' ? lo : hi;
    }
    for (const i of order) {
      const x = toBig(row[i]);
      if (!inclusive) out[i] = wrapInt(od, acc);
      acc = op === 'cumsum' || op === 'cumprod' ? toBig(wrapInt(od, step(acc, x))) : step(acc, x);
      if (inclusive) out[i] = wrapInt(od, acc);
    }
    return out;
  }
  if (od === 'bool') {
    // cummax / cummin of bool: logical or / and
    let acc = op === 'cummax' ? 0 : 1;
    for (const i of order) {
      const x = toNum(row[i]) ? 1 : 0;
      if (!inclusive) out[i] = acc;
      acc = op === 'cummax' ? acc | x : acc & x;
      if (inclusive) out[i] = acc;
    }
    return out;
  }
  const r = od === 'float64' ? (x: number) => x : Math.fround;
  let acc = op === 'cumsum' ? 0 : op === 'cumprod' ? 1 : op === 'cummax' || op === 'logcumsumexp' ? -Infinity : Infinity;
  for (const i of order) {
    const x = toNum(row[i]);
    if (!inclusive) out[i] = roundTo(od, acc);
    if (op === 'cumsum') acc = r(acc + x);
    else if (op === 'cumprod') acc = r(acc * x);
    else if (op === 'cummax') acc = Number.isNaN(x) ? x : x > acc ? x : acc;
    else if (op === 'cummin') acc = Number.isNaN(x) ? x : x < acc ? x : acc;
    else acc = Number.isNaN(acc) || Number.isNaN(x) ? NaN : acc === -Infinity ? x : x === -Infinity ? acc : logaddexp(acc, x);
    if (inclusive) out[i] = roundTo(od, acc);
  }
  return out;
}

/**
 * Allowance for a float cumsum / cumprod whose steps are associated in another order than the
 * sequential reference (a GPU's parallel scan, as CuPy's and PyTorch's on GPUs). Any
 * association of the m values folded into an element is within (m-1)·u of the exact result,
 * u = eps/2 of the accumulator (float32 for float16/bfloat16/float32, float64 for float64),
 * relative to Σ|x| for sums and to |product| for products (their roundings are relative), so two
 * orders differ by at most m·eps times that. float16/bfloat16 round the float32 running value
 * once more, where a tiny difference may cross a rounding boundary: one storage ulp more.
 * Non-finite inputs are left out of Σ|x| (those results compare exactly). Zero for integer outputs.
 */
export function scanOrderErr(op: 'cumsum' | 'cumprod', d: DType, row: readonly Val[], reverse: boolean, inclusive: boolean): number[] {
  const od = scanDType(op, d);
  const n = row.length;
  const out = new Array<number>(n).fill(0);
  if (!isFloat(od)) return out;
  const eps = od === 'float64' ? EPS.float64 : EPS.float32;
  const storage = od === 'float16' || od === 'bfloat16';
  const tiny = od === 'float16' ? 2 ** -24 : 2 ** -133; // the smallest subnormal: an ulp near 0
  const vals = scanRow(op, d, row, reverse, inclusive);
  let abs = 0;
  for (let k = 0; k < n; k++) {
    const i = reverse ? n - 1 - k : k;
    const x = Math.abs(toNum(row[i]));
    const before = abs;
    if (Number.isFinite(x)) abs += x;
    const m = inclusive ? k + 1 : k; // values folded into out[i]
    const v = Math.abs(toNum(vals[i]));
    let e = m * eps * (op === 'cumsum' ? (inclusive ? abs : before) : v);
    if (storage) e += EPS[od as 'float16' | 'bfloat16'] * v + tiny;
    out[i] = e;
  }
  return out;
}

/** Allowance for logcumsumexp computed in float32 (float64): a few ulps of the running value per step. */
export function lcseErr(d: DType, row: readonly Val[], reverse: boolean): number[] {
  const eps = d === 'float64' ? EPS.float64 : EPS.float32;
  const n = row.length;
  const out = new Array<number>(n).fill(0);
  let big = 0;
  for (let k = 0; k < n; k++) {
    const i = reverse ? n - 1 - k : k;
    const x = Math.abs(toNum(row[i]));
    if (Number.isFinite(x)) big = Math.max(big, x);
    out[i] = 4 * (k + 1) * eps * (1 + big);
  }
  return out;
}
