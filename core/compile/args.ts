// A compiled function's arguments and state: the arrays it takes (argument leaves, then the
// state arrays declared in `inputs`) and the key under which its trace is cached (structure of
// the arguments, non-array leaves, dtypes, shapes or ranks, layouts).
import { NDArray } from '../array.js';
import type { Node } from '../node.js';
import { flatten, isContainer, map } from '../tree.js';
import { isRowContiguous } from '../shape.js';
import { canon } from './simplify.js';

export interface FlatArgs {
  arrays: NDArray[];
  /** structure and constant leaves */
  key: string;
  /** the arguments with their array leaves replaced by `xs` (containers rebuilt) */
  rebuild(xs: NDArray[]): unknown[];
}

/** Flattens call arguments: arrays become inputs, numbers/strings/booleans/null are constants. */
export function flattenArgs(args: unknown[]): FlatArgs {
  const arrays: NDArray[] = [];
  const parts: string[] = [];
  for (const [path, leaf] of flatten<unknown>(args)) {
    if (leaf instanceof NDArray) {
      arrays.push(leaf);
      parts.push(`${path}:A`);
    } else if (leaf === null || leaf === undefined || ['number', 'string', 'boolean', 'bigint'].includes(typeof leaf)) {
      parts.push(`${path}:${typeof leaf}=${canon(leaf)}`);
    } else {
      const what = typeof leaf === 'function' ? 'a function' : `a ${(leaf as object).constructor?.name ?? 'object'}`;
      throw new TypeError(
        `[compile] argument ${path} is ${what}: a compiled function takes arrays, trees (objects, arrays, Maps) of arrays, ` +
          'numbers, strings, booleans or null; declare module or optimizer state with the inputs/outputs options',
      );
    }
  }
  return {
    arrays,
    key: parts.join(';'),
    rebuild(xs) {
      let k = 0;
      return map((l: unknown) => (l instanceof NDArray ? xs[k++] : l), args) as unknown[];
    },
  };
}

/**
 * The arrays of a state declaration, in a stable order without repeats. A declaration is an
 * array, a tree of them, a function returning one (called each time), or an object with
 * `parameters()` (a module) or a `state` tree (an optimizer); other leaves are ignored.
 */
export function stateArrays(spec: unknown): NDArray[] {
  const out: NDArray[] = [];
  const seen = new Set<NDArray>();
  const visiting = new Set<unknown>();
  const visit = (t: unknown) => {
    if (typeof t === 'function') return visit((t as () => unknown)());
    if (t instanceof NDArray) {
      if (!seen.has(t)) {
        seen.add(t);
        out.push(t);
      }
      return;
    }
    if (t === null || typeof t !== 'object' || visiting.has(t)) return;
    visiting.add(t);
    if (isContainer(t)) {
      for (const [, leaf] of flatten<unknown>(t)) visit(leaf);
    } else {
      const o = t as { parameters?: unknown; state?: unknown };
      if (typeof o.parameters === 'function') visit((o.parameters as () => unknown).call(t));
      else if ('state' in o) visit(o.state);
    }
    visiting.delete(t);
  };
  visit(spec);
  return out;
}

/** Dtype, shape (or rank) and layout of one input, for the cache key. */
export function arrayKey(a: NDArray, shapeless: boolean): string {
  const n = a.node;
  const strides = n.data!.strides;
  const contiguous = isRowContiguous(n.shape, strides);
  if (shapeless) return `${n.dtype}/${n.shape.length}${contiguous ? 'c' : 's'}`;
  return `${n.dtype}[${n.shape.join(',')}]${contiguous ? '' : `{${strides.join(',')}}`}`;
}

/** Shapes and strides of the inputs (the part of a shapeless key that selects a plan). */
export function layoutKey(nodes: readonly Node[]): string {
  return nodes.map((n) => `${n.shape.join(',')}/${n.data!.strides.join(',')}`).join(';');
}

/** Marks where an array sat in a function's result (the result is rebuilt around new arrays). */
export class OutSlot {
  constructor(readonly index: number) {}
}

/** The result tree with array leaves replaced by OutSlot markers, and the arrays in order. */
export function splitResult(result: unknown): { skeleton: unknown; arrays: NDArray[] } {
  const arrays: NDArray[] = [];
  const skeleton = map((l: unknown) => {
    if (l instanceof NDArray) {
      arrays.push(l);
      return new OutSlot(arrays.length - 1);
    }
    return l;
  }, result);
  return { skeleton, arrays };
}

/** Rebuilds a result tree from its skeleton and the output arrays. */
export function fillResult(skeleton: unknown, arrays: readonly NDArray[]): unknown {
  return map((l: unknown) => (l instanceof OutSlot ? arrays[l.index] : l), skeleton);
}
