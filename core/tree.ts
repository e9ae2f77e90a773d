// Trees of arrays: plain objects, JS arrays and Maps nesting arrays (DESIGN.md §2 "Transforms").
import { NDArray } from './array.js';

/** Every NDArray in a tree, depth first. */
export function treeLeaves(tree: unknown, out: NDArray[] = []): NDArray[] {
  const seen = new Set<unknown>();
  const visit = (t: unknown) => {
    if (t instanceof NDArray) {
      out.push(t);
      return;
    }
    if (t === null || typeof t !== 'object' || seen.has(t)) return;
    seen.add(t);
    if (t instanceof Map) for (const v of t.values()) visit(v);
    else if (Array.isArray(t)) for (const v of t) visit(v);
    else if (Object.getPrototypeOf(t) === Object.prototype || Object.getPrototypeOf(t) === null)
      for (const v of Object.values(t as Record<string, unknown>)) visit(v);
  };
  visit(tree);
  return out;
}
