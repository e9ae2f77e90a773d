// Whether a transform is tracing. While one is, evaluation keeps the graph behind evaluated nodes
// (DESIGN.md §2: "After evaluation an array drops its graph, except inside a transform trace").
let depth = 0;

export function tracing(): boolean {
  return depth > 0;
}

/** Runs `fn` with graph retention on (nested transforms keep it on until the outermost ends). */
export function withTracing<T>(fn: () => T): T {
  depth++;
  try {
    return fn();
  } finally {
    depth--;
  }
}
