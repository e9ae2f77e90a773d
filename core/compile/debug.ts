// KILN_DEBUG output for compiled functions: 1 prints each new schedule (kernels, fused regions,
// buffers), 4 also prints every fused program.
import type { IRGraph } from './ir.js';
import type { Plan } from './lower.js';

export { debugLevel } from '../debug.js';

export function printPlan(name: string, plan: Plan, g: IRGraph): void {
  const lines = [
    `[compile] schedule of ${name}: ${plan.kernels} kernels (${plan.fused} fused), ${plan.allocBytes.length} buffers, ${g.nodes.length} graph nodes`,
    ...plan.schedule.map((s, i) => `  ${i}: ${s}`),
  ];
  console.error(lines.join('\n'));
}
