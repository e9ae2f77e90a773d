// Walks over the lazy graph shared by the transforms (autograd, vmap) and compile.
import type { Node } from './node.js';

/**
 * Nodes reachable from `roots` in post-order (inputs before users), iteratively: graphs get
 * deep. `stop(n)` true keeps the walk from going behind n (n itself is still listed).
 */
export function postOrder(roots: readonly Node[], stop: (n: Node) => boolean = () => false): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  for (const r of roots) {
    if (seen.has(r)) continue;
    seen.add(r);
    const stack: [Node, number][] = [[r, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const n = top[0];
      if (!stop(n) && top[1] < n.inputs.length) {
        const c = n.inputs[top[1]++];
        if (c.failure) throw c.failure; // a failed asynchronous evaluation: using it rethrows
        if (!seen.has(c)) {
          seen.add(c);
          stack.push([c, 0]);
        }
      } else {
        stack.pop();
        order.push(n);
      }
    }
  }
  return order;
}

/** The nodes between `stops` and `outputs` in post-order, and which of them depend on a stop. */
export function between(outputs: readonly Node[], stops: ReadonlySet<Node>): { order: Node[]; active: Set<Node> } {
  const order = postOrder(outputs, (n) => stops.has(n));
  const active = new Set<Node>();
  for (const n of order) if (stops.has(n) || n.inputs.some((i) => active.has(i))) active.add(n);
  return { order, active };
}
