// KILN_DEBUG levels (docs/ENVIRONMENT.md): 1 prints every eager and compiled schedule, 2 adds a
// per-kernel time table at exit, 4 also prints every fused program.
import type { Node } from './node.js';

// read once: process.env costs a microsecond per read, and every evaluation asks
const level = (() => {
  const v = Number(process.env.KILN_DEBUG ?? 0);
  return Number.isFinite(v) ? v : 0;
})();

export function debugLevel(): number {
  return level;
}

/** One line naming a kernel-producing node: `binary(add) [2, 3] float32`. */
export function nodeLabel(n: {
  primitive?: { name: string };
  prim?: { name: string };
  params: Readonly<Record<string, unknown>>;
  shape: readonly number[];
  dtype: string;
}): string {
  const name = (n.primitive ?? n.prim)!.name;
  const op = n.params.op ?? n.params.kernel;
  return `${name}${op ? `(${op})` : ''} [${n.shape.join(', ')}] ${n.dtype}`;
}

export function printEagerSchedule(labels: string[], kernels: number, buffers: number): void {
  console.error([`[eval] ${kernels} kernels, ${buffers} new buffers`, ...labels.map((s, i) => `  ${i}: ${s}`)].join('\n'));
}
