// kn.compile: trace, simplify, fuse and replay whole functions (DESIGN.md §2 "compile").
import {
  compileEnabled,
  compileFunction,
  setCompileEnabled,
  traceCache,
  type Compiled,
  type CompiledInfo,
  type CompileOptions,
} from '../core/compile/compile.js';

export type { Compiled, CompileOptions, CompiledInfo };

/**
 * Compiles `fn`. The first call with a given signature (argument structure, non-array arguments,
 * dtypes, shapes and layouts; only ranks with `shapeless`) traces `fn` on placeholder arrays; the
 * graph is simplified and fused into few kernels, and every later call binds the new inputs into
 * the stored kernels and runs them in one native call, without calling `fn`. Results are
 * evaluated arrays, equal to `fn`'s (within float tolerance where a fused reduction sums in
 * another order).
 *
 * What `fn` reads besides its arguments is fixed at trace time: captured arrays are constants,
 * and JS values (counters, a hand-written schedule of JS numbers) are those of the trace. Random
 * draws need an explicit key carried in the state (the global key sequence and Dropout's own key
 * raise an error under compile rather than repeat the trace's numbers). Optimizers keep their step count, bias corrections and the
 * built-in schedules in the graph, so a compiled step follows them; call `opt.init(params)`
 * before the first call so the state's structure does not change after it (one trace). State that changes between calls is declared: `inputs` (read each call)
 * and `outputs` (the arrays found there after the call are rebound in place to the new values,
 * so the old ones are freed at once) take arrays, trees of arrays, modules (their parameters),
 * optimizers (their state), or functions returning those — as `mx.compile(step, inputs=state,
 * outputs=state)`. Use explicit random keys and keep them in the state.
 *
 * `shapeless: true` reuses the trace for inputs of other sizes: the shapes of every node follow
 * from its inputs, once a second trace at the second sizes has confirmed the rules; a function
 * whose graph depends on sizes in other ways (a count in kn.mean over a changing axis, a full of a
 * computed shape) gets an error naming the primitive.
 *
 * Inside kn.grad / kn.vmap, inside another compiled function being traced, and while compile is
 * disabled, `fn` simply runs. `compiled.info` tells how many traces, kernels and buffers there
 * were (KILN_DEBUG=1 prints each new schedule, KILN_DEBUG=4 each fused program).
 * @example
 * const gelu = kn.compile((x) => kn.divide(kn.multiply(x, kn.add(kn.erf(kn.divide(x, Math.SQRT2)), 1)), 2));
 * gelu(kn.array([0, 1])) // [0, 0.8413]
 * @example
 * const model = new kn.nn.Linear(4, 2), opt = new kn.optim.SGD(0.1);
 * const lossAndGrad = kn.nn.valueAndGrad(model, (m, x, y) => kn.nn.losses.mseLoss(m.forward(x), y));
 * const step = kn.compile((x, y) => {
 *   const [loss, grads] = lossAndGrad(x, y);
 *   opt.update(model, grads);
 *   return loss;
 * }, { inputs: [model, opt], outputs: [model, opt] });
 * step(kn.ones([3, 4]), kn.zeros([3, 2])).shape // []
 */
export function compile<F extends (...args: any[]) => any>(fn: F, opts: CompileOptions = {}): Compiled<F> {
  return compileFunction(fn, opts);
}

/**
 * Bounds the number of cached traces of all compiled functions together (least recently used go
 * first, with their native programs and captured constants). Default 64.
 * @example
 * kn.compile.setCacheLimit(16);
 * kn.compile.cacheSize() <= 16 // true
 * kn.compile.setCacheLimit(64); // back to the default
 */
compile.setCacheLimit = (n: number): void => {
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`[compile.setCacheLimit] limit must be a non-negative integer, got ${n}`);
  traceCache.setLimit(n);
};

/**
 * Drops every cached trace, its native programs and captured constants.
 * @example
 * kn.compile.clearCache();
 * kn.compile.cacheSize() // 0
 */
compile.clearCache = (): void => traceCache.clear();

/** Number of cached traces. @example kn.compile.cacheSize() // 0 */
compile.cacheSize = (): number => traceCache.size;

/**
 * Makes compiled functions run uncompiled (for debugging); KILN_DISABLE_COMPILE=1 does this at start.
 * @example
 * const f = kn.compile((x) => kn.add(x, 1));
 * kn.disableCompile();
 * f(kn.array([1])) // [2] (run eagerly)
 * kn.enableCompile();
 */
export function disableCompile(): void {
  setCompileEnabled(false);
}

/**
 * Turns compilation back on.
 * @example
 * kn.enableCompile();
 * kn.isCompileEnabled() // true
 */
export function enableCompile(): void {
  setCompileEnabled(true);
}

/** Whether compiled functions currently compile. @example kn.isCompileEnabled() // true */
export function isCompileEnabled(): boolean {
  return compileEnabled();
}
