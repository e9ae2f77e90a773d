// The native kernel catalog (backends/native.ts nativeInfo: kernels, unaryOps, binaryOps,
// reduceOps, sortOps, scanOps) against everything that must exist for each of its ops: a
// conformance reference (tests/conformance/reference.ts, sort_scan_ref.ts), input domains
// (tests/conformance/domains.ts), and a gradient rule or a stated reason for having none — the
// rule itself checked against central differences in float64. A new native op fails here until
// all of them exist (as tests/grad/transforms.test.ts does for the primitives of core/); the
// pinned counts make adding one a visit to this file, as ggml pins its op count.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as kn from '../index.js';
import { BinaryOps, K, ReduceOps, ScanOps, SortOps, UnaryOps } from '../backends/native.js';
import { FUSABLE_REDUCE } from '../core/compile/fuse.js';
import { CHEAP_UNARY } from '../core/compile/program.js';
import { binaryNoDerivative, binaryPartials, unaryDerivative, unaryNoDerivative } from '../ops/grad/elementwise.js';
import * as R from './conformance/reference.js';
import { SCAN_OPS } from './conformance/sort_scan_ref.js';
import { BINARY_DOMAINS, REDUCE_DOMAINS, SCAN_DOMAINS, SORT_DOMAIN, UNARY_DOMAINS } from './conformance/domains.js';
import type { Domain } from './conformance/values.js';
import { BINARY_NAMES, UNARY_NAMES } from './helpers/catalog.js';
import { numericGrad } from './helpers/grad_check.js';
import { mulberry32, seedOf } from './helpers/rng.js';

type Fn = (...xs: kn.NDArray[]) => kn.NDArray;
const ops = kn as unknown as Record<string, (...a: unknown[]) => kn.NDArray>;

/** float64 values inside `dom` (away from its ends and from specials, where derivatives blow up). */
function interior(dom: Domain, n: number, seed: number): kn.NDArray {
  const r = mulberry32(seed);
  const [lo, hi] = dom.hi > dom.lo ? [dom.lo, dom.hi] : [-2, 2];
  const vals = Array.from({ length: n }, () => {
    const u = 0.15 + 0.7 * r();
    return dom.log && lo > 0 ? lo * (hi / lo) ** u : lo + (hi - lo) * u;
  });
  return kn.array(Float64Array.from(vals), 'float64');
}

/**
 * The gradient of sum(fn(...args)·r) against central differences for every argument. An op with
 * no derivative must either throw a "not differentiable" error or give the zero gradient the
 * differences also give.
 */
function checkAgainstDifferences(fn: Fn, args: kn.NDArray[], seed: number): 'rule' | 'not differentiable' {
  const out = fn(...args);
  const r = kn.array(Float64Array.from({ length: out.size }, mulberry32(seed)), 'float64').reshape(out.shape);
  const loss = (...xs: kn.NDArray[]) => kn.sum(kn.multiply(fn(...xs), r));
  let grads: kn.NDArray[];
  try {
    grads = kn.grad(loss, { argnums: args.map((_, i) => i) })(...args) as kn.NDArray[];
  } catch (e) {
    expect((e as Error).message).toMatch(/not differentiable/);
    return 'not differentiable';
  }
  args.forEach((a, i) => {
    const analytic = Array.from(grads[i].astype('float64').toTypedArray() as Float64Array);
    const numeric = Array.from(numericGrad(fn, args, i, 1e-6, r));
    const scale = Math.max(1, ...numeric.map(Math.abs));
    const worst = Math.max(0, ...analytic.map((g, k) => Math.abs(g - numeric[k])));
    if (!(worst <= 1e-5 * scale)) expect({ arg: i, analytic }).toEqual({ arg: i, analytic: numeric });
  });
  return 'rule';
}

const rejectsFloat = (f: () => unknown): boolean => {
  try {
    f();
    return false;
  } catch (e) {
    if (e instanceof R.RefTypeError) return true;
    throw e;
  }
};

describe('the native catalog has a reference, a domain and a gradient rule (or a reason) for every op', () => {
  it('pins the op counts (a new op: give it a reference, a domain, a rule or reason, then update the count here)', () => {
    expect(Object.keys(K).length, 'kernels').toBe(36);
    expect(Object.keys(UnaryOps).length, 'unary ops').toBe(37);
    expect(Object.keys(BinaryOps).length, 'binary ops').toBe(25);
    expect(Object.keys(ReduceOps).length, 'reduce ops').toBe(8);
    expect(Object.keys(SortOps).length, 'sort ops').toBe(5);
    expect(Object.keys(ScanOps).length, 'scan ops').toBe(5);
  });

  // the test file that checks each kernel against a reference, and a word it uses for the kernel
  const KERNEL_TESTS: Record<string, [file: string, word: string]> = {
    free: ['memory.test.ts', 'dispose'],
    copy: ['conformance/copy_cast.test.ts', 'astype'],
    fill: ['conformance/copy_cast.test.ts', 'full'],
    arange: ['conformance/copy_cast.test.ts', 'arange'],
    unary: ['conformance/unary.test.ts', 'unary'],
    binary: ['conformance/binary.test.ts', 'binary'],
    where: ['conformance/where.test.ts', 'where'],
    reduce: ['conformance/reduce.test.ts', 'reduce'],
    matmul: ['conformance/matmul.test.ts', 'matmul'],
    gather: ['conformance/index.test.ts', 'take'],
    scatter: ['conformance/index.test.ts', 'scatter'],
    cholesky: ['linalg.test.ts', 'cholesky'],
    inv: ['linalg.test.ts', 'inv'],
    solve: ['linalg.test.ts', 'solve'],
    solve_triangular: ['linalg.test.ts', 'solveTriangular'],
    qr: ['linalg.test.ts', 'qr'],
    det: ['linalg.test.ts', 'det'],
    slogdet: ['linalg.test.ts', 'slogdet'],
    eigh: ['linalg_decomp.test.ts', 'eigh'],
    svd: ['linalg_decomp.test.ts', 'svd'],
    sort: ['conformance/sort.test.ts', 'argsort'],
    searchsorted: ['conformance/sort.test.ts', 'searchsorted'],
    topk_indexed: ['topk_indices.test.ts', 'refTopk'],
    scan: ['conformance/scan.test.ts', 'cumsum'],
    rms_norm: ['conformance/fast.test.ts', 'rmsNorm'],
    layer_norm: ['conformance/fast.test.ts', 'layerNorm'],
    rope: ['conformance/fast.test.ts', 'rope'],
    attention: ['conformance/fast.test.ts', 'scaledDotProductAttention'],
    attention_lse: ['fast/attention_lse.test.ts', 'returnLogsumexp'],
    fused: ['conformance/fused.test.ts', 'compile'],
    affine_quantize: ['quantized/ops.test.ts', 'quantize matches MLX bit for bit'],
    affine_dequantize: ['quantized/ops.test.ts', 'round trips against a float64 reference'],
    quantized_matmul: ['quantized/ops.test.ts', 'quantizedMatmul against dequantize + matmul'],
    fft: ['complex/fft.test.ts', 'kn.fft matches numpy'],
    gguf_matmul: ['gguf/kernels.test.ts', 'ggufMatmul'],
    gguf_dequant: ['gguf/kernels.test.ts', 'ggufDequantize'],
  };
  it.each(Object.keys(K))('kernel %s has a reference test', (kernel) => {
    const t = KERNEL_TESTS[kernel];
    expect(t, `no reference test named for kernel '${kernel}' (KERNEL_TESTS here; a new kernel family starts in tests/conformance)`).toBeDefined();
    expect(readFileSync(new URL(`./${t[0]}`, import.meta.url), 'utf8')).toContain(t[1]);
  });

  it.each(Object.keys(UnaryOps))('unary %s', (code) => {
    const name = UNARY_NAMES.get(code);
    expect(name, `no conformance reference (tests/conformance/reference.ts UNARY) for unary op '${code}'`).toBeDefined();
    const dom = UNARY_DOMAINS[name!];
    expect(dom, `no input domain (tests/conformance/domains.ts UNARY_DOMAINS) for '${name}'`).toBeDefined();
    const rule = code in unaryDerivative,
      reason = unaryNoDerivative[code];
    expect(
      rule !== (reason !== undefined),
      `'${code}' needs exactly one of a derivative (unaryDerivative) or a reason (unaryNoDerivative) in ops/grad/elementwise.ts`,
    ).toBe(true);
    if (rejectsFloat(() => R.unaryDType(name!, 'float64'))) {
      expect(reason).toBe('integers only');
      return;
    }
    kn.tidy(() => {
      checkAgainstDifferences((x) => ops[name!](x), [interior(dom, 7, seedOf('catalog', code))], seedOf('r', code));
    });
  });

  it.each(Object.keys(BinaryOps))('binary %s', (code) => {
    const name = BINARY_NAMES.get(code);
    expect(name, `no conformance reference (tests/conformance/reference.ts BINARY) for binary op '${code}'`).toBeDefined();
    const doms = BINARY_DOMAINS[name!];
    expect(doms, `no input domains (tests/conformance/domains.ts BINARY_DOMAINS) for '${name}'`).toBeDefined();
    const rule = code in binaryPartials,
      reason = binaryNoDerivative[code];
    expect(
      rule !== (reason !== undefined),
      `'${code}' needs exactly one of partials (binaryPartials) or a reason (binaryNoDerivative) in ops/grad/elementwise.ts`,
    ).toBe(true);
    if (rejectsFloat(() => R.binaryDTypes(name!, 'float64'))) {
      expect(reason).toBe('integers only');
      return;
    }
    kn.tidy(() => {
      const args = doms.map((d, i) => interior(d, 7, seedOf('catalog', code, i)));
      checkAgainstDifferences((a, b) => ops[name!](a, b), args, seedOf('r', code));
    });
  });

  it.each(Object.keys(ReduceOps))('reduce %s', (code) => {
    expect(R.REDUCE_OPS as readonly string[], `no conformance reference (tests/conformance/reference.ts REDUCE_OPS) for '${code}'`).toContain(code);
    const dom = REDUCE_DOMAINS[code as R.ReduceOp];
    expect(dom, `no input domain (tests/conformance/domains.ts REDUCE_DOMAINS) for '${code}'`).toBeDefined();
    kn.tidy(() => {
      const how = checkAgainstDifferences((x) => ops[code](x, 1), [interior(dom, 15, seedOf('catalog', code)).reshape([3, 5])], seedOf('r', code));
      expect(how === 'not differentiable').toBe(code.startsWith('arg'));
    });
  });

  // how each sort op is called, and which reference row function (sort_scan_ref.ts) its conformance cases use
  const SORT_CALLS: Record<string, { call: Fn; reference: string }> = {
    sort: { call: (x) => kn.sort(x, -1), reference: 'sortRow' },
    argsort: { call: (x) => kn.argsort(x, -1), reference: 'argsortRow' },
    partition: { call: (x) => kn.partition(x, 2, -1), reference: 'sortRow (kth order)' },
    argpartition: { call: (x) => kn.argpartition(x, 2, -1), reference: 'argsortRow (kth order)' },
    topk: { call: (x) => kn.topk(x, 2, -1), reference: 'sortRow (largest k)' },
  };
  it.each(Object.keys(SortOps))('sort %s', (code) => {
    const c = SORT_CALLS[code];
    expect(c, `no call and reference for sort op '${code}' (SORT_CALLS here, tests/conformance/sort.test.ts)`).toBeDefined();
    kn.tidy(() => {
      const how = checkAgainstDifferences(c.call, [interior(SORT_DOMAIN, 12, seedOf('catalog', code)).reshape([2, 6])], seedOf('r', code));
      expect(how === 'not differentiable').toBe(code.startsWith('arg'));
    });
  });

  it.each(Object.keys(ScanOps))('scan %s', (code) => {
    expect(SCAN_OPS as readonly string[], `no conformance reference (tests/conformance/sort_scan_ref.ts SCAN_OPS) for '${code}'`).toContain(code);
    const dom = SCAN_DOMAINS[code as (typeof SCAN_OPS)[number]];
    expect(dom, `no input domain (tests/conformance/domains.ts SCAN_DOMAINS) for '${code}'`).toBeDefined();
    kn.tidy(() => {
      expect(checkAgainstDifferences((x) => ops[code](x, -1), [interior(dom, 12, seedOf('catalog', code)).reshape([2, 6])], seedOf('r', code))).toBe('rule');
    });
  });

  it('the fusion lists of core/compile name catalog ops', () => {
    expect([...FUSABLE_REDUCE].sort()).toEqual(
      Object.keys(ReduceOps)
        .filter((op) => !op.startsWith('arg'))
        .sort(),
    );
    for (const op of CHEAP_UNARY) expect(Object.keys(UnaryOps), `CHEAP_UNARY (core/compile/program.ts) names '${op}'`).toContain(op);
  });

  it('the derivative tables of ops/grad/elementwise.ts name only catalog ops', () => {
    for (const op of [...Object.keys(unaryDerivative), ...Object.keys(unaryNoDerivative)]) expect(Object.keys(UnaryOps)).toContain(op);
    for (const op of [...Object.keys(binaryPartials), ...Object.keys(binaryNoDerivative)]) expect(Object.keys(BinaryOps)).toContain(op);
  });
});
