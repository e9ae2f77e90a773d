// Tracing: the function runs once on placeholder arrays (argument arrays are replaced by new
// handles, state arrays are rebound to placeholders for the duration), and the graph behind its
// results and its state outputs becomes the compiled function's IR. Arrays made during the trace
// are disposed afterwards, except the new state the function stored in `outputs`.
import { NDArray } from '../array.js';
import { evaluateNodes } from '../eval.js';
import { decRef, Node } from '../node.js';
import { Scope, scopeStorage } from '../scope.js';
import { splitResult, stateArrays } from './args.js';
import { buildIR, Placeholder, type IRGraph } from './ir.js';

export interface Traced {
  graph: IRGraph;
  skeleton: unknown;
  nReturned: number;
  /** state output handles the trace left in the containers (to be bound to real values) */
  stateOut: NDArray[];
  /** the graph's constants, each held once for the caller (release with decRef) */
  consts: Node[];
}

let depth = 0;

/** true while some compiled function is being traced (nested compiled calls then inline). */
export function compileTracing(): boolean {
  return depth > 0;
}

/**
 * Traces `fn`. `args` rebuilds the arguments around tracer arrays; `inputs` are the input arrays
 * (argument arrays, then state arrays) whose shapes and dtypes the placeholders take.
 */
export function traceFunction(
  fn: (...args: unknown[]) => unknown,
  rebuild: (xs: NDArray[]) => unknown[],
  nArgs: number,
  inputs: readonly NDArray[],
  stateOutSpec: unknown,
): Traced {
  const firstId = new Node(Placeholder, {}, [], [], 'bool').id;
  const placeholders = inputs.map((a, slot) => new Node(Placeholder, { slot }, [], a.node.shape, a.node.dtype));
  const stateIn = inputs.slice(nArgs);
  const originals = stateIn.map((h) => h.node);
  const scope = new Scope(scopeStorage.getStore());
  let kept = new Set<NDArray>();
  let rebound = 0;
  try {
    const tracers = scopeStorage.run(scope, () => placeholders.slice(0, nArgs).map((p) => new NDArray(p)));
    // keep the real values alive while their handles point at placeholders
    for (let k = 0; k < stateIn.length; k++, rebound++) {
      originals[k].refs++;
      stateIn[k].rebind(placeholders[nArgs + k]);
    }
    depth++;
    let result: unknown;
    try {
      result = scopeStorage.run(scope, () => fn(...rebuild(tracers)));
    } finally {
      depth--;
    }
    if (result instanceof Promise) throw new TypeError('[compile] the function returned a Promise: compiled functions must be synchronous');
    const { skeleton, arrays } = splitResult(result);
    const stateOut = stateArrays(stateOutSpec);
    kept = new Set(stateOut);
    for (const h of stateOut) if (h.disposed) throw new Error('[compile] a state output array was disposed by the function');
    const outputs = [...arrays.map((a) => a.node), ...stateOut.map((h) => h.node)];
    const graph = buildIR(outputs, inputs.length, firstId, evaluateNodes);
    // constants made inside the function outlive the arrays that held them (disposed below)
    const consts = graph.nodes.filter((n) => n.kind === 'const').map((n) => n.source!);
    for (const c of consts) c.refs++;
    return { graph, skeleton, nReturned: arrays.length, stateOut, consts };
  } finally {
    for (let k = 0; k < rebound; k++) {
      if (!stateIn[k].disposed) stateIn[k].rebind(originals[k]);
      decRef(originals[k]);
    }
    for (const a of scope.tracked) if (!kept.has(a as NDArray)) a.dispose();
    scope.tracked.clear();
  }
}
