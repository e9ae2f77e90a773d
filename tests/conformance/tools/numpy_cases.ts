// Dev tool (not a test): prints reference.ts results for many inputs as JSON, so that
// check_numpy.py can compare them with numpy/scipy. Run from the repository root:
//   npx tsx tests/conformance/tools/numpy_cases.ts | python3 tests/conformance/tools/check_numpy.py
// numpy has no bfloat16, so that dtype is left out; kiln's promotion rules (MLX) are applied
// by the checker where they differ from numpy's.
import * as R from '../reference.js';
import { genValues, mulberry32, type Domain } from '../values.js';

const enc = (v: R.Val): string => (typeof v === 'bigint' ? v.toString() : Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'nan' : String(v));
const DT = R.DTYPES.filter((d) => d !== 'bfloat16');
interface Case {
  kind: string;
  op: string;
  dtype: R.DType;
  to?: R.DType;
  a: string[];
  b?: string[];
  out: string[];
  outDtype: R.DType;
  err?: number[];
}
const out: Case[] = [];
const rng = mulberry32(42);
const N = 200;
const dom: Domain = {
  lo: -30,
  hi: 30,
  specials: [NaN, Infinity, -Infinity, -0, 0, 0.5, -0.5, 2.5, 1e-5],
  extremes: true,
  intSpecials: [0, -1, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, -7],
};

// casts (finite values in the int32 range for float -> int, non-negative for float -> unsigned)
for (const from of DT) {
  for (const to of DT) {
    let a = genValues(from, N, rng, {
      lo: -300,
      hi: 300,
      extremes: true,
      specials: [-0, 0, 0.5, -0.5, 1.5, 2.5, 65519, 65520, 1 + 2 ** -11 + 2 ** -40, 3.4e38, 1e-8, 1e-5, 5.96e-8],
    });
    if (R.isFloat(from) && R.isInt(to)) a = a.filter((v) => Number.isFinite(v as number) && Math.abs(v as number) < 2 ** 31);
    if (R.isFloat(from) && R.isUnsigned(to)) a = a.filter((v) => (v as number) > -1);
    const r = R.castArray(R.make(from, [a.length], a), to);
    out.push({ kind: 'cast', op: 'astype', dtype: from, to, a: a.map(enc), out: r.data.map(enc), outDtype: to });
  }
}
// unary
for (const op of Object.keys(R.UNARY)) {
  for (const d of DT) {
    const domain = op === 'erfinv' || op.startsWith('arc') ? { ...dom, lo: -1.2, hi: 1.2 } : op === 'arccosh' ? { ...dom, lo: 0.5, hi: 30 } : dom;
    const a = genValues(d, N, rng, domain);
    try {
      const r = R.unaryRef(op, R.make(d, [a.length], a));
      out.push({ kind: 'unary', op, dtype: d, a: a.map(enc), out: r.data.map(enc), outDtype: r.dtype });
    } catch (e) {
      if (!(e instanceof R.RefTypeError)) throw e;
    }
  }
}
// binary (b repeats a in a quarter of the slots; integer power exponents are made non-negative)
for (const op of Object.keys(R.BINARY)) {
  for (const d of DT) {
    const a = genValues(d, N, rng, dom);
    let b = genValues(d, N, rng, dom).map((v, i) => (i % 4 === 0 ? a[i] : v));
    if (op === 'power' && R.isInt(d)) b = b.map((v) => (typeof v === 'bigint' ? (v < 0n ? -v : v) % 70n : Math.abs(v) % 70));
    try {
      const r = R.binaryRef(op, R.make(d, [a.length], a), R.make(d, [b.length], b));
      out.push({ kind: 'binary', op, dtype: d, a: a.map(enc), b: b.map(enc), out: r.data.map(enc), outDtype: r.dtype });
    } catch (e) {
      if (!(e instanceof R.RefTypeError)) throw e;
    }
  }
}
// reductions over axis 1 of [6, 7]
for (const op of R.REDUCE_OPS) {
  for (const d of DT) {
    const a = genValues(d, 42, rng, op === 'prod' ? { lo: 0.5, hi: 2, specials: [NaN, 0, -0, Infinity], extremes: true, ilo: -3, ihi: 3 } : dom);
    const r = R.reduceRef(op, R.make(d, [6, 7], a), 1);
    out.push({ kind: 'reduce', op, dtype: d, a: a.map(enc), out: r.data.map(enc), outDtype: r.dtype, err: r.err });
  }
}
// matmul [3, 4] @ [4, 5]
for (const d of DT.filter((x) => x !== 'bool')) {
  const a = genValues(d, 12, rng, { lo: -3, hi: 3, extremes: true }),
    b = genValues(d, 20, rng, { lo: -3, hi: 3, extremes: true });
  const r = R.matmulRef(R.make(d, [3, 4], a), R.make(d, [4, 5], b));
  out.push({ kind: 'matmul', op: 'matmul', dtype: d, a: a.map(enc), b: b.map(enc), out: r.data.map(enc), outDtype: r.dtype, err: r.err });
}
console.log(JSON.stringify(out));
