// The differentiation and batching rules a primitive may carry (DESIGN.md §2 "Primitives").
// core only declares them; ops/grad/ attaches the rules, written with ordinary ops, to each
// primitive (core never imports ops).
import type { NDArray } from './array.js';
import type { Node, Primitive } from './node.js';

/** What a rule sees of the node it differentiates: the node, handles on its inputs and itself. */
export interface RuleContext {
  readonly node: Node;
  readonly inputs: NDArray[];
  readonly output: NDArray;
}

/**
 * Cotangents of the inputs given the output's cotangent; `wrt[i]` says whether input i needs
 * one (return null where it does not, or where the input has no gradient: integers, indices).
 */
export type VjpRule = (ctx: RuleContext, cotangent: NDArray, wrt: readonly boolean[]) => (NDArray | null)[];

/** The output's tangent given the inputs' tangents (null = zero); null when the result is zero. */
export type JvpRule = (ctx: RuleContext, tangents: readonly (NDArray | null)[]) => NDArray | null;

/**
 * The node applied to inputs that carry a batch axis at `axes[i]` (null = not batched); returns
 * the batched output and where its batch axis is.
 */
export type VmapRule = (node: Node, inputs: NDArray[], axes: readonly (number | null)[]) => [NDArray, number | null];

/** The same computation written with ordinary ops (fast primitives differentiate through it). */
export type Fallback = (node: Node, inputs: NDArray[]) => NDArray;

/** A multi-output primitive's rule context: handles on its inputs and on every sibling output. */
export interface MultiRuleContext {
  readonly node: Node;
  readonly inputs: NDArray[];
  readonly outputs: NDArray[];
}

/** Input cotangents from the cotangents of every output (null = that output has none). */
export type VjpOutputsRule = (ctx: MultiRuleContext, cotangents: readonly (NDArray | null)[], wrt: readonly boolean[]) => (NDArray | null)[];
/** Every output's tangent (null = zero) from the inputs' tangents. */
export type JvpOutputsRule = (ctx: MultiRuleContext, tangents: readonly (NDArray | null)[]) => (NDArray | null)[];
/** The application on batched inputs: every output and its batch axis. */
export type VmapOutputsRule = (node: Node, inputs: NDArray[], axes: readonly (number | null)[]) => [NDArray[], (number | null)[]];

export interface Rules {
  /** multi-output primitives (core/siblings.ts) carry these instead of vjp/jvp/vmap */
  vjpOutputs?: VjpOutputsRule;
  jvpOutputs?: JvpOutputsRule;
  vmapOutputs?: VmapOutputsRule;
  vjp?: VjpRule;
  jvp?: JvpRule;
  vmap?: VmapRule;
  fallback?: Fallback;
  /** a clear reason, for primitives that have no derivative (sort indices, comparisons ...) */
  nondifferentiable?: string;
}

/** Attaches rules to a primitive (called once per primitive from ops/grad/). */
export function defineRules(p: Primitive, rules: Rules): void {
  Object.assign(p as Primitive & Rules, rules);
}

export function rulesOf(p: Primitive): Rules {
  return p as Primitive & Rules;
}
