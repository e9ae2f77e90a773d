// Reverse and forward mode differentiation over the lazy graph (DESIGN.md §2 "Transforms").
// A transform wraps its inputs in fresh identity nodes (tracers), calls the function, and walks
// the graph between tracers and outputs using each primitive's rules (core/rules.ts). The rules
// themselves are written with ordinary ops in ops/grad/, so the gradient graph is differentiable
// again (grad of grad) and batchable (vmap of grad).
import { NDArray } from './array.js';
import { Node, type BufferView, type Primitive } from './node.js';
import { defineRules, rulesOf, type MultiRuleContext, type RuleContext } from './rules.js';
import { tidy } from './memory.js';
import { fmtShape } from './shape.js';
import { sameAsInput } from './shape_rules.js';
import { tracing, withTracing } from './trace_state.js';
import { between } from './graph.js';

export { tracing, withTracing };

/** The operations autograd needs that live in ops/ (registered by ops/grad/index.ts). */
export interface GradOps {
  add(a: NDArray, b: NDArray): NDArray;
  zeros(shape: readonly number[], dtype: NDArray['dtype']): NDArray;
  ones(shape: readonly number[], dtype: NDArray['dtype']): NDArray;
  astype(a: NDArray, dtype: NDArray['dtype']): NDArray;
}
let gops: GradOps | null = null;
export function registerGradOps(o: GradOps): void {
  gops = o;
}
function ops(): GradOps {
  if (!gops) throw new Error('[grad] the gradient rules are not loaded (import kiln from its index)');
  return gops;
}

// ---- primitives owned by the transforms ----------------------------------------------------

const passThrough = (_: Node, [x]: BufferView[]): BufferView => ({ buf: x.buf, offset: x.offset, strides: x.strides.slice() });

/** The fresh node a transform substitutes for each of its inputs. */
export const Identity: Primitive = { name: 'identity', view: passThrough, kind: 'view', shapeRule: sameAsInput };
/** Blocks gradients; a free view outside transforms. */
export const StopGradient: Primitive = { name: 'stopGradient', view: passThrough, kind: 'view', shapeRule: sameAsInput };
/** inputs [x, ...deps]: x's value, scheduled after deps (checkpoint recomputation waits for its cotangent). */
export const Depends: Primitive = { name: 'depends', view: passThrough, kind: 'view', shapeRule: sameAsInput };
/** inputs [fnOutput, ...primals]: one output of a customFunction call; params.call holds the record. */
export const CustomOutput: Primitive = { name: 'customOutput', view: passThrough, kind: 'view', shapeRule: sameAsInput };

defineRules(Identity, {
  vjp: (_, ct) => [ct],
  jvp: (_, [t]) => t,
  vmap: (_, [x], [ax]) => [x, ax],
});
defineRules(StopGradient, {
  vjp: (ctx) => ctx.inputs.map(() => null),
  jvp: () => null,
  vmap: (node, [x], [ax]) => [wrap(new Node(StopGradient, {}, [x.node], x.node.shape, x.node.dtype)), ax],
});
defineRules(Depends, {
  vjp: (ctx, ct) => ctx.inputs.map((_, i) => (i === 0 ? ct : null)),
  jvp: (_, [t]) => t,
  vmap: (_, [x], [ax]) => [x, ax],
});

const wrap = (n: Node): NDArray => new NDArray(n);

/**
 * Stops gradients: the value of `x`, treated as a constant by grad, vjp and jvp.
 * @example
 * // d/dx of x * stopGradient(x) is stopGradient(x) = 3, not 2x = 6
 * kn.grad((x) => kn.multiply(x, kn.stopGradient(x)))(kn.array(3, 'float32')) // 3
 */
export function stopGradient(x: NDArray): NDArray {
  if (!(x instanceof NDArray)) throw new TypeError('[stopGradient] expected an array');
  return wrap(new Node(StopGradient, {}, [x.node], x.node.shape, x.node.dtype));
}

/** `x`'s value, computed only after every array in `deps` (a scheduling edge, no data flow). */
export function depends(x: NDArray, deps: NDArray[]): NDArray {
  return wrap(new Node(Depends, {}, [x.node, ...deps.map((d) => d.node)], x.node.shape, x.node.dtype));
}

// ---- graph walks ---------------------------------------------------------------------------

function context(n: Node): RuleContext {
  return { node: n, inputs: n.inputs.map(wrap), output: wrap(n) };
}

function multiContext(n: Node): MultiRuleContext {
  return { node: n, inputs: n.inputs.map(wrap), outputs: n.siblings!.map(wrap) };
}

function checkShape(g: NDArray, like: Node, what: string): NDArray {
  const s = g.node.shape;
  if (s.length !== like.shape.length || s.some((d, i) => d !== like.shape[i]))
    throw new Error(`[grad] internal: the ${what} rule gave shape ${fmtShape(s)} for an input of shape ${fmtShape(like.shape)}`);
  return g.dtype === like.dtype ? g : ops().astype(g, like.dtype);
}

function noRule(p: Primitive, kind: string): Error {
  const why = rulesOf(p).nondifferentiable;
  return new Error(`[${kind}] the primitive '${p.name}' ${why ? `is not differentiable: ${why}` : `has no ${kind} rule`}`);
}

/** Record shared by the outputs of one customFunction call. */
export interface CustomCall {
  primals: NDArray[];
  outputs: NDArray[];
  vjp?: (primals: NDArray[], cotangents: NDArray[], outputs: NDArray[]) => (NDArray | null)[];
  jvp?: (primals: NDArray[], tangents: NDArray[]) => NDArray[];
}

/**
 * Reverse pass: cotangents of `stops` (tracer nodes) given cotangents of `outputs`.
 * Returns null for a tracer that no output depends on.
 */
function backward(outputs: Node[], cotangents: NDArray[], stops: Node[]): (NDArray | null)[] {
  const stopSet = new Set(stops);
  const { order, active } = between(outputs, stopSet);
  const cot = new Map<Node, NDArray>();
  const accumulate = (n: Node, g: NDArray) => {
    const prev = cot.get(n);
    cot.set(n, prev ? ops().add(prev, g) : g);
  };
  outputs.forEach((o, i) => {
    if (active.has(o)) accumulate(o, checkShape(cotangents[i], o, 'output cotangent'));
  });
  // customFunction outputs wait until every sibling on the tape has its cotangent
  const pending = new Map<CustomCall, { left: number; cts: (NDArray | null)[] }>();
  for (const n of order)
    if (n.primitive === CustomOutput && active.has(n) && (n.params.call as CustomCall).vjp) {
      const call = n.params.call as CustomCall;
      const p = pending.get(call) ?? { left: 0, cts: call.outputs.map(() => null) };
      p.left++;
      pending.set(call, p);
    }

  // a multi-output node's rule runs once, when every sibling on the tape has its cotangent
  const sibs = new Map<readonly Node[], { left: number; cts: (NDArray | null)[] }>();
  for (const n of order)
    if (n.siblings && active.has(n) && !stopSet.has(n)) {
      const p = sibs.get(n.siblings) ?? { left: 0, cts: n.siblings.map(() => null) };
      p.left++;
      sibs.set(n.siblings, p);
    }

  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k];
    if (stopSet.has(n) || !active.has(n)) continue;
    const g = cot.get(n);
    const rules = rulesOf(n.primitive);
    if (n.siblings) {
      const p = sibs.get(n.siblings)!;
      p.cts[n.siblings.indexOf(n)] = g ?? null;
      if (--p.left > 0 || p.cts.every((c) => c === null)) continue;
      if (!rules.vjpOutputs) throw noRule(n.primitive, 'vjp');
      const wrt = n.inputs.map((i) => active.has(i));
      const grads = rules.vjpOutputs(multiContext(n), p.cts, wrt);
      n.inputs.forEach((inp, i) => {
        const gi = grads[i];
        if (gi && wrt[i]) accumulate(inp, checkShape(gi, inp, n.primitive.name + ' vjp'));
      });
      continue;
    }
    if (n.primitive === CustomOutput) {
      const call = n.params.call as CustomCall;
      if (!call.vjp) {
        // no custom rule: differentiate through the function's own graph
        if (g && active.has(n.inputs[0])) accumulate(n.inputs[0], g);
        continue;
      }
      const p = pending.get(call)!;
      p.cts[n.params.index as number] = g ?? null;
      if (--p.left > 0) continue;
      if (p.cts.every((c) => c === null)) continue;
      const cts = p.cts.map((c, i) => c ?? ops().zeros(call.outputs[i].node.shape, call.outputs[i].dtype));
      const grads = call.vjp!(call.primals, cts, call.outputs);
      if (!Array.isArray(grads) || grads.length !== call.primals.length)
        throw new Error(`[customFunction] the vjp must return one cotangent (or null) per input: expected ${call.primals.length}`);
      grads.forEach((gi, i) => {
        const inp = call.primals[i].node;
        if (gi && active.has(inp)) accumulate(inp, checkShape(gi, inp, 'customFunction vjp'));
      });
      continue;
    }
    if (!g) continue;
    const wrt = n.inputs.map((i) => active.has(i));
    let grads: (NDArray | null)[];
    if (rules.vjp) grads = rules.vjp(context(n), g, wrt);
    else if (rules.fallback) {
      const ins = n.inputs.map(wrap);
      grads = vjpCore((...xs) => [rules.fallback!(n, xs)], ins).pullback([g]);
    } else throw noRule(n.primitive, 'vjp');
    n.inputs.forEach((inp, i) => {
      const gi = grads[i];
      if (gi && wrt[i]) accumulate(inp, checkShape(gi, inp, n.primitive.name + ' vjp'));
    });
  }
  return stops.map((s) => cot.get(s) ?? null);
}

/** Forward pass: tangents of `outputs` given tangents of `stops`. */
function forward(outputs: Node[], stops: Node[], tangents: NDArray[]): (NDArray | null)[] {
  const stopSet = new Set(stops);
  const { order, active } = between(outputs, stopSet);
  const tan = new Map<Node, NDArray | null>();
  stops.forEach((s, i) => tan.set(s, tangents[i]));
  const done = new Set<CustomCall | readonly Node[]>();
  for (const n of order) {
    if (stopSet.has(n) || !active.has(n)) continue;
    const ts = n.inputs.map((i) => tan.get(i) ?? null);
    if (n.primitive === CustomOutput) {
      const call = n.params.call as CustomCall;
      if (!call.jvp) {
        tan.set(n, ts[0]); // differentiate through the function's own graph
        continue;
      }
      if (done.has(call)) continue;
      done.add(call);
      const pts = call.primals.map((p) => tan.get(p.node) ?? ops().zeros(p.node.shape, p.dtype));
      const outs = call.jvp(call.primals, pts);
      if (!Array.isArray(outs) || outs.length !== call.outputs.length)
        throw new Error(`[customFunction] the jvp must return one tangent per output: expected ${call.outputs.length}`);
      call.outputs.forEach((o, i) => tan.set(o.node, checkShape(outs[i], o.node, 'customFunction jvp')));
      continue;
    }
    if (ts.every((t) => t === null)) continue;
    const rules = rulesOf(n.primitive);
    if (n.siblings) {
      if (done.has(n.siblings)) continue;
      done.add(n.siblings);
      if (!rules.jvpOutputs) throw noRule(n.primitive, 'jvp');
      const outs = rules.jvpOutputs(multiContext(n), ts);
      n.siblings.forEach((o, i) => tan.set(o, outs[i] ? checkShape(outs[i]!, o, n.primitive.name + ' jvp') : null));
      continue;
    }
    let t: NDArray | null;
    if (rules.jvp) t = rules.jvp(context(n), ts);
    else if (rules.fallback) {
      const ins = n.inputs.map(wrap);
      const full = ts.map((x, i) => x ?? ops().zeros(ins[i].node.shape, ins[i].dtype));
      t = jvpCore((...xs) => [rules.fallback!(n, xs)], ins, full)[1][0];
    } else if (rules.vjp) t = jvpThroughVjp(n, ts);
    else throw noRule(n.primitive, 'jvp');
    tan.set(n, t ? checkShape(t, n, n.primitive.name + ' jvp') : null);
  }
  return outputs.map((o) => tan.get(o) ?? null);
}

// A vjp rule is linear in its cotangent; its transpose applied to the input tangents is the jvp.
function jvpThroughVjp(n: Node, ts: (NDArray | null)[]): NDArray | null {
  const ctx = context(n);
  const wrt = ts.map((t) => t !== null);
  const seed = ops().zeros(n.shape, n.dtype);
  const { outputs, pullback } = vjpCore(
    (ct) => {
      const gs = rulesOf(n.primitive).vjp!(ctx, ct, wrt);
      return ts.map((t, i) => (t && gs[i] ? gs[i]! : ops().zeros(n.inputs[i].shape, n.inputs[i].dtype)));
    },
    [seed],
  );
  const [g] = pullback(outputs.map((o, i) => ts[i] ?? ops().zeros(o.node.shape, o.dtype)));
  return g;
}

// ---- vjp / jvp cores -----------------------------------------------------------------------

/**
 * Calls `fn` on tracers of `primals`; returns its outputs and a pullback from output cotangents
 * to input cotangents (zeros where an input does not reach any output).
 */
export function vjpCore(
  fn: (...xs: NDArray[]) => NDArray[],
  primals: NDArray[],
): {
  outputs: NDArray[];
  pullback(cts: NDArray[]): NDArray[];
} {
  const tracers = primals.map((p) => wrap(new Node(Identity, {}, [p.node], p.node.shape, p.node.dtype)));
  const outputs = withTracing(() => fn(...tracers));
  return {
    outputs,
    pullback(cts) {
      const results = withTracing(() =>
        tidy(() => {
          const gs = backward(
            outputs.map((o) => o.node),
            cts,
            tracers.map((t) => t.node),
          );
          return gs.map((g, i) => g ?? ops().zeros(primals[i].node.shape, primals[i].dtype));
        }),
      );
      return results;
    },
  };
}

/** Calls `fn` on tracers of `primals` and pushes `tangents` forward to its outputs. */
export function jvpCore(fn: (...xs: NDArray[]) => NDArray[], primals: NDArray[], tangents: NDArray[]): [NDArray[], NDArray[]] {
  const tracers = primals.map((p) => wrap(new Node(Identity, {}, [p.node], p.node.shape, p.node.dtype)));
  const outputs = withTracing(() => fn(...tracers));
  const jvps = withTracing(() =>
    tidy(() => {
      const ts = forward(
        outputs.map((o) => o.node),
        tracers.map((t) => t.node),
        tangents,
      );
      return ts.map((t, i) => t ?? ops().zeros(outputs[i].node.shape, outputs[i].dtype));
    }),
  );
  return [outputs, jvps];
}

// ---- custom functions ----------------------------------------------------------------------

defineRules(CustomOutput, {
  // the walks handle CustomOutput themselves; these serve vmap and nested replays
  vmap: (_, [x], [ax]) => [x, ax],
});

export interface CustomRules {
  /** (primals, cotangents, outputs) → one cotangent (or null) per primal */
  vjp?: (primals: NDArray[], cotangents: NDArray[], outputs: NDArray[]) => (NDArray | null)[];
  /** (primals, tangents) → one tangent per output */
  jvp?: (primals: NDArray[], tangents: NDArray[]) => NDArray[];
}

/**
 * Marks the outputs of one call of a custom function: values are `outs`, gradients come from
 * `rules` (or, for a missing rule, from the function's own graph).
 */
export function customCall(primals: NDArray[], outs: NDArray[], rules: CustomRules): NDArray[] {
  const call: CustomCall = { primals, outputs: [], vjp: rules.vjp, jvp: rules.jvp };
  call.outputs = outs.map((o, index) => wrap(new Node(CustomOutput, { call, index }, [o.node, ...primals.map((p) => p.node)], o.node.shape, o.node.dtype)));
  return call.outputs;
}
