// Trees of arrays: plain objects, JS arrays and Maps nesting arrays (DESIGN.md §2 "Transforms").
// Everything else (arrays, numbers, strings, class instances, null) is a leaf. Paths join keys
// with dots: `layers.0.attn.q.weight`.
import { NDArray } from './array.js';

const isPlainObject = (t: unknown): t is Record<string, unknown> =>
  t !== null && typeof t === 'object' && (Object.getPrototypeOf(t) === Object.prototype || Object.getPrototypeOf(t) === null);

/** true for the containers a tree is made of: plain objects, JS arrays and Maps. */
export function isContainer(t: unknown): boolean {
  return Array.isArray(t) || t instanceof Map || isPlainObject(t);
}

export type IsLeaf = (t: unknown) => boolean;

/** Every NDArray in a tree, depth first (cycles are visited once). */
export function treeLeaves(tree: unknown, out: NDArray[] = []): NDArray[] {
  const seen = new Set<unknown>();
  const visit = (t: unknown) => {
    if (t instanceof NDArray) {
      out.push(t);
      return;
    }
    if (!isContainer(t) || seen.has(t)) return;
    seen.add(t);
    if (t instanceof Map) for (const v of t.values()) visit(v);
    else if (Array.isArray(t)) for (const v of t) visit(v);
    else for (const v of Object.values(t as Record<string, unknown>)) visit(v);
  };
  visit(tree);
  return out;
}

function entries(t: unknown): [string, unknown][] {
  if (t instanceof Map) return [...t.entries()].map(([k, v]) => [String(k), v]);
  if (Array.isArray(t)) return t.map((v, i) => [String(i), v]);
  return Object.entries(t as Record<string, unknown>);
}

/**
 * The leaves of a tree with their dotted paths, depth first.
 * @example
 * const x = kn.array(1), y = kn.array(2), z = kn.array(3);
 * kn.tree.flatten({ a: [x, y], b: { c: z } }) // [['a.0', 1], ['a.1', 2], ['b.c', 3]]
 */
export function flatten<T = unknown>(tree: unknown, opts: { prefix?: string; isLeaf?: IsLeaf } = {}): [string, T][] {
  const out: [string, T][] = [];
  const stack = new Set<unknown>();
  const visit = (t: unknown, path: string) => {
    if (!isContainer(t) || opts.isLeaf?.(t)) {
      out.push([path, t as T]);
      return;
    }
    if (stack.has(t)) throw new Error(`[tree.flatten] the tree has a cycle at '${path}'`);
    stack.add(t);
    for (const [k, v] of entries(t)) visit(v, path ? `${path}.${k}` : k);
    stack.delete(t);
  };
  visit(tree, opts.prefix ?? '');
  return out;
}

/**
 * Rebuilds a tree from dotted paths: all-integer keys make JS arrays, other keys plain objects.
 * @example
 * const x = kn.array(1), z = kn.array(3);
 * kn.tree.unflatten([['a.0', x], ['b.c', z]]) // { a: [1], b: { c: 3 } }
 */
export function unflatten<T = unknown>(pairs: Iterable<readonly [string, T]>): unknown {
  const root: Record<string, unknown> = {};
  for (const [path, value] of pairs) {
    if (typeof path !== 'string') throw new TypeError(`[tree.unflatten] keys must be strings, got ${typeof path}`);
    const keys = path.split('.');
    let node = root;
    for (let i = 0; i < keys.length - 1; i++) {
      const next = node[keys[i]];
      if (next === undefined) node = node[keys[i]] = {} as Record<string, unknown>;
      else if (isPlainObject(next)) node = next;
      else throw new Error(`[tree.unflatten] key '${path}' goes through the leaf '${keys.slice(0, i + 1).join('.')}'`);
    }
    const last = keys[keys.length - 1];
    if (last in node) throw new Error(`[tree.unflatten] key '${path}' appears twice or conflicts with a subtree`);
    node[last] = value;
  }
  // objects whose keys are exactly 0..n-1 (in any order) become arrays
  const fix = (t: unknown): unknown => {
    if (!isPlainObject(t)) return t;
    const keys = Object.keys(t);
    for (const k of keys) t[k] = fix(t[k]);
    const isList = keys.length > 0 && keys.every((k) => /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < keys.length);
    if (!isList) return t;
    const arr: unknown[] = new Array(keys.length);
    for (const k of keys) arr[Number(k)] = t[k];
    return arr;
  };
  if (Object.keys(root).length === 1 && '' in root) return root[''];
  return fix(root);
}

/**
 * Applies `fn` to every leaf of `tree` (and the matching leaves of `rest`, which must have the
 * same structure); containers are rebuilt (Maps stay Maps).
 * @example
 * const params = { w: kn.array([1, 2]) }, grads = { w: kn.array([10, 10]) };
 * kn.tree.map((p, g) => p.subtract(g.multiply(0.1)), params, grads) // { w: [0, 1] }
 */
export function map(fn: (leaf: any, ...rest: any[]) => unknown, tree: unknown, ...rest: unknown[]): any {
  return mapWithPath((_, leaf, ...r) => fn(leaf, ...r), tree, ...rest);
}

/** Like `map`, with the leaf's dotted path as the first argument. */
export function mapWithPath(fn: (path: string, leaf: any, ...rest: any[]) => unknown, tree: unknown, ...rest: unknown[]): any {
  const visit = (t: unknown, others: unknown[], path: string): unknown => {
    if (!isContainer(t)) return fn(path, t, ...others);
    const join = (k: string | number) => (path ? `${path}.${k}` : String(k));
    const sub = (o: unknown, k: string | number, kind: string) => {
      if (o instanceof Map) {
        if (!o.has(k)) throw new Error(`[tree.map] the trees differ at '${join(k)}': missing in a ${kind}`);
        return o.get(k);
      }
      if (o === null || typeof o !== 'object' || !(k in (o as object))) throw new Error(`[tree.map] the trees differ at '${join(k)}': missing in a ${kind}`);
      return (o as Record<string | number, unknown>)[k];
    };
    if (t instanceof Map) {
      const out = new Map();
      for (const [k, v] of t)
        out.set(
          k,
          visit(
            v,
            others.map((o) => sub(o, k, 'later tree')),
            join(k),
          ),
        );
      return out;
    }
    if (Array.isArray(t)) {
      for (const o of others)
        if (!Array.isArray(o) || o.length !== t.length) throw new Error(`[tree.map] the trees differ at '${path}': expected a list of ${t.length}`);
      return t.map((v, i) =>
        visit(
          v,
          others.map((o) => (o as unknown[])[i]),
          join(i),
        ),
      );
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(t as Record<string, unknown>))
      out[k] = visit(
        v,
        others.map((o) => sub(o, k, 'later tree')),
        join(k),
      );
    return out;
  };
  return visit(tree, rest, '');
}

/**
 * Folds the leaves of a tree, depth first.
 * @example
 * const params = { w: kn.ones([2, 3]), b: [kn.zeros([3])] };
 * kn.tree.reduce((n, a) => n + a.size, params, 0) // 9
 */
export function reduce<A>(fn: (acc: A, leaf: any) => A, tree: unknown, initial: A): A {
  let acc = initial;
  for (const [, leaf] of flatten(tree)) acc = fn(acc, leaf);
  return acc;
}
