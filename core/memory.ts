// Deterministic memory management (DESIGN.md §2): eval, dispose, tidy and kn.memory.
import { native } from '../backends/native.js';
import { Device, loadedGpuIndices, toDevice, type DeviceLike } from './device.js';
import { NDArray } from './array.js';
import { evaluateNodes, evaluateNodesAsync } from './eval.js';
import { Scope, scopeStorage } from './scope.js';
import { treeLeaves } from './tree.js';

/**
 * Evaluates arrays (or trees of arrays) now, sharing work between them.
 * @example
 * const y = kn.exp(kn.array([0, 1])), s = y.sum();
 * kn.eval(y, s); // both computed in one pass
 * s.item() // 3.7183
 */
export function evaluate(...trees: unknown[]): void {
  const nodes = treeLeaves(trees).map((a) => a.node);
  evaluateNodes(nodes);
}

/**
 * Evaluates on a native worker thread; JS can build the next graph while it runs.
 * @example
 * const logits = kn.matmul(kn.ones([2, 3]), kn.ones([3, 2]));
 * await kn.evalAsync(logits);
 * logits // [[3, 3], [3, 3]]
 */
export function evalAsync(...trees: unknown[]): Promise<void> {
  try {
    return evaluateNodesAsync(treeLeaves(trees).map((a) => a.node));
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Waits until all queued work has finished on every device (the CPU's worker thread and each GPU's
 * stream), like MLX's `mx.synchronize()`. On a GPU `kn.eval` queues kernels and returns: time GPU
 * code with this (or by reading a result, which waits for what it needs).
 * @example
 * const y = kn.exp(kn.ones([1024]));
 * kn.eval(y);
 * kn.synchronize(); // y's kernels have run
 * y.shape // [1024]
 */
export function synchronize(): void {
  native.synchronize();
}

/**
 * Frees every array in a tree now.
 * @example
 * const w = kn.ones([2, 2]), b = kn.zeros([2]);
 * kn.dispose({ w, b });
 * w.disposed // true
 */
export function dispose(...trees: unknown[]): void {
  for (const a of treeLeaves(trees)) a.dispose();
}

/**
 * Takes arrays out of every enclosing kn.tidy scope, so the end of those scopes does not free
 * them; the caller owns them from then on (state a layer or optimizer replaces each step).
 * @example
 * let state = kn.keep(kn.array(0));
 * kn.tidy(() => { state = kn.keep(kn.add(state, 1)); }); // survives the scope's end
 * state.item() // 1
 */
export function keep<T>(tree: T): T {
  const leaves = treeLeaves(tree);
  for (let s = scopeStorage.getStore(); s; s = s.parent) for (const a of leaves) s.tracked.delete(a);
  return tree;
}

function finishScope(scope: Scope, result: unknown): void {
  const keep = new Set<NDArray>(treeLeaves(result));
  for (const a of scope.tracked) {
    if (keep.has(a as NDArray)) {
      scope.parent?.tracked.add(a);
    } else {
      a.dispose();
    }
  }
  scope.tracked.clear();
}

/**
 * Runs `fn` and frees every array created inside it that is not part of its result (which may
 * be a tree, or a Promise of one for async functions).
 * @example
 * const x = kn.array([0, 0]);
 * const y = kn.tidy(() => kn.exp(x).sum()); // the exp intermediate is freed
 * y.item() // 2
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError('[tidy] expected a function');
  const scope = new Scope(scopeStorage.getStore());
  let result: T;
  try {
    result = scopeStorage.run(scope, fn);
  } catch (e) {
    finishScope(scope, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (r) => {
        finishScope(scope, r);
        return r;
      },
      (e) => {
        finishScope(scope, undefined);
        throw e;
      },
    ) as T;
  }
  finishScope(scope, result);
  return result;
}

/** Which device a memory call is about: `{ device }` (a Device, 'cpu', 'gpu', 'gpu:N'); absent: see each function. */
export interface MemoryOptions {
  device?: DeviceLike;
}

function deviceIndexArg(opts: MemoryOptions | undefined, fn: string): number | null {
  if (opts === undefined || opts === null) return null;
  if (typeof opts !== 'object' || opts instanceof Device) throw new TypeError(`[memory.${fn}] expected options { device }, got ${String(opts)}`);
  for (const k of Object.keys(opts)) if (k !== 'device') throw new TypeError(`[memory.${fn}] unknown option '${k}' (expected device)`);
  return opts.device === undefined ? null : toDevice(opts.device, `memory.${fn}`).index;
}

/** Every device's stat `k` added up (the CPU, and the GPUs once the CUDA backend loaded). */
function summed(k: 'active' | 'peak' | 'cache'): number {
  let s = native.memory()[k];
  for (const d of loadedGpuIndices()) s += native.memory(d)[k];
  return s;
}
const stat = (k: 'active' | 'peak' | 'cache', fn: string, opts?: MemoryOptions): number => {
  const d = deviceIndexArg(opts, fn);
  return d === null ? summed(k) : native.memory(d)[k];
};
/** Applies `f` to the named device, or (absent) to every loaded one. */
const each = (opts: MemoryOptions | undefined, fn: string, f: (d: number) => void): void => {
  const d = deviceIndexArg(opts, fn);
  if (d !== null) f(d);
  else for (const x of [0, ...loadedGpuIndices()]) f(x);
};
/**
 * Native memory statistics and limits per device. Byte counts include the allocator's size
 * rounding. `{ device }` names one device (kn.cpu, kn.gpu, 'gpu:1'); without it `active`, `peak`
 * and `cache` add up every device (the peaks of each), `resetPeak` and `clearCache` act on every
 * device, and the limits are the CPU's.
 * @example
 * typeof kn.memory.active() // 'number'
 * kn.memory.peak() >= kn.memory.active() // true
 * kn.memory.active({ device: kn.cpu }) <= kn.memory.active() // true
 */
export const memory = {
  /** bytes held by live buffers (a buffer with copies on two devices counts on both) */
  active: (opts?: MemoryOptions): number => stat('active', 'active', opts),
  /** highest `active` since start or the last resetPeak() */
  peak: (opts?: MemoryOptions): number => stat('peak', 'peak', opts),
  resetPeak: (opts?: MemoryOptions): void => each(opts, 'resetPeak', (d) => native.resetPeak(d)),
  /** bytes kept in the allocator's cache for reuse */
  cache: (opts?: MemoryOptions): number => stat('cache', 'cache', opts),
  /** live buffer count (ids handed out and not yet freed; a buffer is one id whatever devices hold copies) */
  buffers: (): number => native.memory().buffers,
  /** limit on active bytes of a device (0 = none; default device: the CPU); an allocation crossing it throws a JS error */
  setLimit: (bytes: number, opts?: MemoryOptions): void => native.setLimit(bytes, deviceIndexArg(opts, 'setLimit') ?? 0),
  getLimit: (opts?: MemoryOptions): number => native.memory(deviceIndexArg(opts, 'getLimit') ?? 0).limit,
  /** limit on cached bytes of a device (CPU default: 4 GiB, or the memory limit when set) */
  setCacheLimit: (bytes: number, opts?: MemoryOptions): void => native.setCacheLimit(bytes, deviceIndexArg(opts, 'setCacheLimit') ?? 0),
  getCacheLimit: (opts?: MemoryOptions): number => native.memory(deviceIndexArg(opts, 'getCacheLimit') ?? 0).cacheLimit,
  /** returns cached blocks to the system (every device without `{ device }`) */
  clearCache: (opts?: MemoryOptions): void => each(opts, 'clearCache', (d) => native.clearCache(d)),
};
