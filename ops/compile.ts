// kn.compile: trace, simplify, fuse and replay whole functions (DESIGN.md §2 "compile").
import { compileEnabled, compileFunction, setCompileEnabled, traceCache, type Compiled, type CompileOptions, type CompiledInfo } from '../core/compile/compile.js';

export type { Compiled, CompileOptions, CompiledInfo };

/**
 * Compiles `fn`: the first call with a given signature (argument structure, non-array arguments,
 * dtypes and shapes — only ranks with `shapeless`) traces it on placeholder arrays; the graph is
 * simplified and fused into few kernels, and every later call replays the stored kernels in one
 * native call. Results are evaluated arrays. State the function reads or replaces besides its
 * arguments (model parameters, optimizer state, a random key) is declared with `inputs` and
 * `outputs` (arrays, trees, modules, optimizers, or functions returning them); the arrays found in
 * `outputs` are rebound to their new values after each call. Inside kn.grad/vmap or another
 * compiled function, and when compile is disabled, `fn` runs as is.
 * @example
 * const gelu = kn.compile((x) => x.multiply(0.5).multiply(kn.erf(x.multiply(Math.SQRT1_2)).add(1)));
 * const y = gelu(kn.random.normal([1024]));
 * @example
 * const step = kn.compile((x, y) => { ... return loss; }, { inputs: [model, opt], outputs: [model, opt] });
 */
export function compile<F extends (...args: any[]) => any>(fn: F, opts: CompileOptions = {}): Compiled<F> {
  return compileFunction(fn, opts);
}

/**
 * Bounds the number of cached traces (all compiled functions together; least recently used go
 * first). Default 64.
 * @example kn.compile.setCacheLimit(16)
 */
compile.setCacheLimit = (n: number): void => {
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`[compile.setCacheLimit] limit must be a non-negative integer, got ${n}`);
  traceCache.setLimit(n);
};

/** Drops every cached trace and its native programs. @example kn.compile.clearCache() */
compile.clearCache = (): void => traceCache.clear();

/** Number of cached traces. @example kn.compile.cacheSize() // 0 */
compile.cacheSize = (): number => traceCache.size;

/**
 * Makes compiled functions run uncompiled (for debugging); KILN_DISABLE_COMPILE=1 does this at start.
 * @example kn.disableCompile(); f(x); kn.enableCompile();
 */
export function disableCompile(): void {
  setCompileEnabled(false);
}

/** Turns compilation back on. @example kn.enableCompile() */
export function enableCompile(): void {
  setCompileEnabled(true);
}

/** Whether compiled functions currently compile. @example kn.isCompileEnabled() // true */
export function isCompileEnabled(): boolean {
  return compileEnabled();
}
