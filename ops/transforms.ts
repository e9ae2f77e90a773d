// The public function transforms: grad, valueAndGrad, vjp, jvp, checkpoint, customFunction
// (DESIGN.md §2 "Transforms"). Arguments and results may be trees of arrays.
import { NDArray } from '../core/array.js';
import { customCall, depends, jvpCore, vjpCore } from '../core/autograd.js';
import { isFloating } from '../core/dtype.js';
import { isContainer, map } from '../core/tree.js';
import { fmtShape } from '../core/shape.js';
import { ones } from './creation.js';
import { reshape } from './views.js';

export interface GradOptions {
  /** which positional arguments to differentiate (default 0); an array gives a list of gradients */
  argnums?: number | readonly number[];
}
type ArgnumsArg = number | readonly number[] | GradOptions | undefined;

function parseArgnums(opts: ArgnumsArg, nargs: number, op: string): { list: number[]; single: boolean } {
  const raw =
    typeof opts === 'object' && opts !== null && !Array.isArray(opts)
      ? ((opts as GradOptions).argnums ?? 0)
      : ((opts as number | readonly number[] | undefined) ?? 0);
  const single = typeof raw === 'number';
  const list = (single ? [raw] : [...(raw as readonly number[])]).map((i) => {
    if (!Number.isInteger(i)) throw new TypeError(`[${op}] argnums must be integers, got ${JSON.stringify(raw)}`);
    const j = i < 0 ? i + nargs : i;
    if (j < 0 || j >= nargs) throw new RangeError(`[${op}] argnums ${i} is out of range for a call with ${nargs} arguments`);
    return j;
  });
  if (new Set(list).size !== list.length) throw new Error(`[${op}] argnums ${JSON.stringify(raw)} repeats an argument`);
  if (list.length === 0) throw new Error(`[${op}] argnums is empty: nothing to differentiate`);
  return { list, single };
}

/** Array leaves of a tree in traversal order, and a way to rebuild it with other leaves. */
function splitTree(tree: unknown, op: string, what: string): { leaves: NDArray[]; rebuild(xs: unknown[]): unknown } {
  const leaves: NDArray[] = [];
  if (!(tree instanceof NDArray) && !isContainer(tree))
    throw new TypeError(`[${op}] ${what} must be an array or a tree of arrays, got ${tree === null ? 'null' : typeof tree}`);
  map((l: unknown) => (l instanceof NDArray ? leaves.push(l) : 0), tree);
  return {
    leaves,
    rebuild(xs) {
      let k = 0;
      return map((l: unknown) => (l instanceof NDArray ? xs[k++] : l), tree);
    },
  };
}

function lossOf(value: unknown, op: string): NDArray {
  const loss = value instanceof NDArray ? value : Array.isArray(value) && value[0] instanceof NDArray ? value[0] : null;
  if (!loss) throw new TypeError(`[${op}] the function must return a scalar array or [loss, ...aux], got ${value === null ? 'null' : typeof value}`);
  if (loss.size !== 1) throw new Error(`[${op}] the function must return a scalar (one element), got shape ${fmtShape(loss.shape)}`);
  if (!isFloating(loss.dtype)) throw new TypeError(`[${op}] the output must be floating point to differentiate, got ${loss.dtype}`);
  return loss;
}

/**
 * Returns a function computing `[fn(...args), gradient]`, the gradient of fn's scalar result
 * with respect to the argument(s) in `argnums` (trees of arrays give trees of gradients). fn may
 * return `[loss, ...aux]`; the whole array is returned as the value.
 * @example
 * const f = (x) => kn.sum(kn.square(x));
 * const [v, g] = kn.valueAndGrad(f)(kn.array([1, 2], 'float32'));
 * [v, g] // [5, [2, 4]]
 */
export function valueAndGrad<A extends unknown[], R>(fn: (...args: A) => R, opts?: ArgnumsArg): (...args: A) => [R, any] {
  if (typeof fn !== 'function') throw new TypeError('[valueAndGrad] expected a function');
  return (...args: A) => {
    const { list, single } = parseArgnums(opts, args.length, 'valueAndGrad');
    const parts = list.map((i) => splitTree(args[i], 'valueAndGrad', `argument ${i}`));
    const flat = parts.flatMap((p) => p.leaves);
    let value: R | undefined;
    const { outputs, pullback } = vjpCore((...xs) => {
      const call = args.slice() as unknown[];
      let k = 0;
      parts.forEach((p, j) => {
        const n = p.leaves.length;
        call[list[j]] = p.rebuild(xs.slice(k, k + n));
        k += n;
      });
      value = fn(...(call as A));
      return [lossOf(value, 'valueAndGrad')];
    }, flat);
    const [loss] = outputs;
    const g = pullback([reshape(ones([], loss.dtype), loss.shape)]);
    let k = 0;
    const grads = parts.map((p) => {
      const n = p.leaves.length;
      const r = p.rebuild(g.slice(k, k + n));
      k += n;
      return r;
    });
    return [value as R, single ? grads[0] : grads];
  };
}

/**
 * Returns a function computing the gradient of fn's scalar result with respect to `argnums`.
 * @example kn.grad((x) => kn.sum(kn.sin(x)))(kn.array([0, Math.PI], 'float32')) // [1, -1]
 */
export function grad<A extends unknown[]>(fn: (...args: A) => unknown, opts?: ArgnumsArg): (...args: A) => any {
  const vg = valueAndGrad(fn, opts);
  return (...args: A) => vg(...args)[1];
}

function asList(x: unknown, op: string, what: string): NDArray[] {
  const list = x instanceof NDArray ? [x] : Array.isArray(x) ? x : null;
  if (!list || !list.every((a) => a instanceof NDArray)) throw new TypeError(`[${op}] ${what} must be an array or a list of arrays`);
  return list as NDArray[];
}

function checkLike(xs: NDArray[], like: NDArray[], op: string, what: string): void {
  if (xs.length !== like.length) throw new Error(`[${op}] expected ${like.length} ${what}, got ${xs.length}`);
  xs.forEach((x, i) => {
    const a = x.shape,
      b = like[i].shape;
    if (a.length !== b.length || a.some((d, j) => d !== b[j])) throw new Error(`[${op}] ${what} ${i} has shape ${fmtShape(a)} but must match ${fmtShape(b)}`);
  });
}

/**
 * Reverse mode: `[outputs, vjps]` where vjps are the cotangents pulled back to the primals.
 * @example
 * const x = kn.array([1, 2, 3], 'float32');
 * const [[y], [g]] = kn.vjp((x) => kn.square(x), [x], [kn.onesLike(x)]);
 * [y, g] // [[1, 4, 9], [2, 4, 6]]
 */
export function vjp(fn: (...xs: NDArray[]) => NDArray | NDArray[], primals: NDArray[], cotangents: NDArray[]): [NDArray[], NDArray[]] {
  const ps = asList(primals, 'vjp', 'primals'),
    cts = asList(cotangents, 'vjp', 'cotangents');
  const { outputs, pullback } = vjpCore((...xs) => asList(fn(...xs), 'vjp', 'the function result'), ps);
  checkLike(cts, outputs, 'vjp', 'cotangents');
  return [outputs, pullback(cts)];
}

/**
 * Forward mode: `[outputs, jvps]`, the directional derivatives along `tangents`.
 * @example
 * const x = kn.array([0, Math.PI], 'float32');
 * const [[y], [t]] = kn.jvp((x) => kn.sin(x), [x], [kn.onesLike(x)]);
 * t // [1, -1] (cos x)
 */
export function jvp(fn: (...xs: NDArray[]) => NDArray | NDArray[], primals: NDArray[], tangents: NDArray[]): [NDArray[], NDArray[]] {
  const ps = asList(primals, 'jvp', 'primals'),
    ts = asList(tangents, 'jvp', 'tangents');
  checkLike(ts, ps, 'jvp', 'tangents');
  return jvpCore((...xs) => asList(fn(...xs), 'jvp', 'the function result'), ps, ts);
}

/**
 * Wraps `fn` so its backward pass recomputes fn's intermediates instead of keeping them: less
 * peak memory for more compute. Arguments may be trees of arrays.
 * @example
 * const w = kn.ones([2, 2]);
 * const block = kn.checkpoint((x) => kn.tanh(kn.matmul(x, w)));
 * kn.grad((x) => kn.sum(block(x)))(kn.zeros([1, 2])) // [[2, 2]]
 */
export function checkpoint<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  if (typeof fn !== 'function') throw new TypeError('[checkpoint] expected a function');
  return (...args: A) => {
    const inTree = splitTree(args, 'checkpoint', 'the arguments');
    let outTree: ReturnType<typeof splitTree> | null = null;
    const run = (xs: NDArray[]) => {
      const r = fn(...(inTree.rebuild(xs) as A));
      outTree = splitTree(r, 'checkpoint', 'the result');
      return outTree.leaves;
    };
    const outs = run(inTree.leaves);
    const shape = outTree!;
    const marked = customCall(inTree.leaves, outs, {
      vjp: (primals, cts) => {
        // the recomputation waits for the cotangents, so it is not scheduled with the forward pass
        const gated = primals.map((p) => depends(p, cts));
        return vjpCore((...xs) => run(xs), gated).pullback(cts);
      },
    });
    return shape.rebuild(marked) as R;
  };
}

export interface CustomFunctionRules {
  /** (primals, cotangents, outputs) → one cotangent (or null for none) per primal */
  vjp?: (primals: NDArray[], cotangents: NDArray[], outputs: NDArray[]) => (NDArray | null)[];
  /** (primals, tangents) → one tangent per output */
  jvp?: (primals: NDArray[], tangents: NDArray[]) => NDArray[];
}

/**
 * A function with its own derivative rules. Its arguments must be arrays; it returns an array
 * or a list of arrays. A missing rule falls back to differentiating `fn` itself.
 * @example
 * const clipGrad = kn.customFunction((x) => x, { vjp: (_, [g]) => [kn.clip(g, -1, 1)] });
 * kn.grad((x) => kn.sum(kn.multiply(clipGrad(x), 5)))(kn.array([1, 2], 'float32')) // [1, 1]
 */
export function customFunction(fn: (...xs: NDArray[]) => NDArray | NDArray[], rules: CustomFunctionRules): (...xs: NDArray[]) => any {
  if (typeof fn !== 'function') throw new TypeError('[customFunction] expected a function');
  if (rules === null || typeof rules !== 'object') throw new TypeError('[customFunction] rules must be an object { vjp?, jvp? }');
  return (...xs: NDArray[]) => {
    xs.forEach((x, i) => {
      if (!(x instanceof NDArray)) throw new TypeError(`[customFunction] argument ${i} must be an array`);
    });
    const r = fn(...xs);
    const outs = asList(r, 'customFunction', 'the function result');
    const marked = customCall(xs, outs, rules);
    return r instanceof NDArray ? marked[0] : marked;
  };
}
