// kn.vmap: vectorising map. The function is traced once on placeholders shaped like one slice of
// the batch; the traced graph is then replayed node by node on the batched inputs through each
// primitive's batching rule (ops/grad/). A primitive without a rule falls back to its composed
// form, and failing that to a loop over the batch stacked back together.
import { NDArray } from '../core/array.js';
import { Node, type Primitive } from '../core/node.js';
import { rulesOf } from '../core/rules.js';
import { makeSiblings } from '../core/siblings.js';
import { CustomOutput, customCall, type CustomCall } from '../core/autograd.js';
import { zerosLike } from './creation.js';
import { sum } from './reduce.js';
import { withTracing } from '../core/trace_state.js';
import { between } from '../core/graph.js';
import { isContainer, map } from '../core/tree.js';
import { fmtShape, normalizeAxis } from '../core/shape.js';
import { make } from './make.js';
import { stack } from './shape.js';
import { take } from './take_scatter.js';
import { broadcastTo, expandDims, moveaxis } from './views.js';

const Placeholder: Primitive = {
  name: 'vmapPlaceholder',
  noEval: '[vmap] cannot evaluate an array that depends on the mapped inputs inside the mapped function (item, tolist, print and eval need concrete values)',
};

type Axes = number | null | readonly (number | null)[];

interface Batched {
  value: NDArray;
  axis: number | null;
}

/** Applies one node to batched inputs: its rule, its composed form, or a loop over the batch. */
function applyBatched(n: Node, ins: Batched[], B: number): Batched {
  const rules = rulesOf(n.primitive);
  const values = ins.map((b) => b.value),
    axes = ins.map((b) => b.axis);
  if (rules.vmap) {
    const [value, axis] = rules.vmap(n, values, axes);
    return { value, axis };
  }
  if (rules.fallback) {
    const out = vmapCore((...xs: NDArray[]) => rules.fallback!(n, xs), values, axes, B);
    return { value: out, axis: 0 };
  }
  const slices: NDArray[] = [];
  for (let b = 0; b < B; b++) {
    const xs = values.map((v, i) => (axes[i] === null ? v : take(v, b, axes[i]!)));
    slices.push(make(n.primitive, n.params as Record<string, unknown>, xs, n.shape, n.dtype));
  }
  return { value: stack(slices, 0), axis: 0 };
}

/** A multi-output node on batched inputs: its rule, or a loop over the batch stacked back together. */
function batchSiblings(n: Node, ins: Batched[], B: number): Batched[] {
  const rules = rulesOf(n.primitive);
  const values = ins.map((b) => b.value),
    axes = ins.map((b) => b.axis);
  if (rules.vmapOutputs) {
    const [outs, outAxes] = rules.vmapOutputs(n, values, axes);
    return outs.map((value, i) => ({ value, axis: outAxes[i] }));
  }
  const per: NDArray[][] = n.siblings!.map(() => []);
  for (let b = 0; b < B; b++) {
    const xs = values.map((v, i) => (axes[i] === null ? v : take(v, b, axes[i]!)));
    const base = { ...n.params } as Record<string, unknown>;
    delete base.group;
    delete base.output;
    const types = n.siblings!.map((s) => ({ shape: s.shape, dtype: s.dtype }));
    makeSiblings(
      n.primitive,
      base,
      xs.map((x) => x.node),
      types,
    ).forEach((o, i) => per[i].push(new NDArray(o)));
  }
  return per.map((slices) => ({ value: stack(slices, 0), axis: 0 }));
}

/**
 * A customFunction call under vmap: one batched call whose rules are the user's rules mapped
 * over the batch (a shared primal's cotangent is summed over it).
 */
function batchCustomCall(call: CustomCall, valueOf: (n: Node) => Batched, B: number): Batched[] {
  const front = (b: Batched) => (b.axis === null ? b.value : b.axis === 0 ? b.value : moveaxis(b.value, b.axis, 0));
  const ps = call.primals.map((p) => valueOf(p.node));
  const pAxes = ps.map((b) => (b.axis === null ? null : 0));
  const primals = ps.map(front);
  const outputs = call.outputs.map((o) => {
    const b = valueOf(o.node.inputs[0]);
    return b.axis === null ? broadcastTo(expandDims(b.value, 0), [B, ...b.value.shape]) : front(b);
  });
  const np = primals.length,
    no = outputs.length;
  const rules: Parameters<typeof customCall>[2] = {};
  if (call.vjp) {
    const userVjp = call.vjp;
    rules.vjp = (p, cts, outs) => {
      const per = vmap(
        (...all: NDArray[]) => {
          const pi = all.slice(0, np);
          return userVjp(pi, all.slice(np, np + no), all.slice(np + no)).map((g, i) => g ?? zerosLike(pi[i]));
        },
        [...pAxes, ...cts.map(() => 0), ...outs.map(() => 0)],
      )(...p, ...cts, ...outs) as NDArray[];
      return per.map((g, i) => (pAxes[i] === null ? sum(g, 0) : g));
    };
  }
  if (call.jvp) {
    const userJvp = call.jvp;
    rules.jvp = (p, ts) => vmap((...all: NDArray[]) => userJvp(all.slice(0, np), all.slice(np)), [...pAxes, ...pAxes])(...p, ...ts) as NDArray[];
  }
  return customCall(primals, outputs, rules).map((value) => ({ value, axis: 0 }));
}

/** fn applied to `inputs` batched along `axes` (null = shared); the result's batch axis is 0. */
function vmapCore(fn: (...xs: NDArray[]) => NDArray, inputs: NDArray[], axes: (number | null)[], B: number): NDArray {
  return vmapTraced((...xs) => [fn(...xs)], inputs, axes, B)[0];
}

function vmapTraced(fn: (...xs: NDArray[]) => NDArray[], inputs: NDArray[], axes: (number | null)[], B: number): NDArray[] {
  const holders = inputs.map((x, i) => {
    if (axes[i] === null) return x;
    const shape = x.shape.filter((_, d) => d !== axes[i]);
    return new NDArray(new Node(Placeholder, {}, [], shape, x.dtype));
  });
  const outs = withTracing(() => fn(...holders));
  const stops = new Set<Node>();
  const env = new Map<Node, Batched>();
  holders.forEach((h, i) => {
    if (axes[i] === null) return;
    stops.add(h.node);
    env.set(h.node, { value: inputs[i], axis: axes[i] });
  });
  const { order, active } = between(
    outs.map((o) => o.node),
    stops,
  );
  const calls = new Map<CustomCall, Batched[]>();
  for (const n of order) {
    if (!active.has(n) || stops.has(n)) continue;
    const valueOf = (i: Node): Batched => env.get(i) ?? { value: new NDArray(i), axis: null };
    if (n.primitive === CustomOutput) {
      const call = n.params.call as CustomCall;
      if (!calls.has(call)) calls.set(call, batchCustomCall(call, valueOf, B));
      env.set(n, calls.get(call)![n.params.index as number]);
      continue;
    }
    if (n.siblings) {
      if (!env.has(n)) batchSiblings(n, n.inputs.map(valueOf), B).forEach((b, i) => env.set(n.siblings![i], b));
      continue;
    }
    env.set(n, applyBatched(n, n.inputs.map(valueOf), B));
  }
  return outs.map((o) => {
    const b = env.get(o.node);
    if (!b) return broadcastTo(expandDims(o, 0), [B, ...o.shape]); // does not depend on the batch
    return b.axis === 0 || b.axis === null ? b.value : moveaxis(b.value, b.axis, 0);
  });
}

/**
 * Vectorises `fn` over an axis of its inputs. `inAxes`: one axis (or null = not mapped) for all
 * arguments, or one per argument (applied to every array of that argument's tree). `outAxes`:
 * where the mapped axis goes in each output (one number for all, or one per output leaf).
 * @example
 * const dot = (a, b) => kn.sum(kn.multiply(a, b));
 * kn.vmap(dot)(kn.ones([5, 3]), kn.ones([5, 3])).shape // [5]
 * kn.vmap(dot, [0, null])(kn.ones([5, 3]), kn.ones([3])).shape // [5]
 */
export function vmap<A extends unknown[], R>(fn: (...args: A) => R, inAxes: Axes = 0, outAxes: number | readonly number[] = 0): (...args: A) => R {
  if (typeof fn !== 'function') throw new TypeError('[vmap] expected a function');
  return (...args: A) => {
    if (Array.isArray(inAxes) && inAxes.length !== args.length) throw new Error(`[vmap] inAxes has ${inAxes.length} entries for ${args.length} arguments`);
    const leaves: NDArray[] = [],
      axes: (number | null)[] = [];
    args.forEach((arg, i) => {
      const ax = Array.isArray(inAxes) ? (inAxes as (number | null)[])[i] : (inAxes as number | null);
      if (ax !== null && !Number.isInteger(ax)) throw new TypeError(`[vmap] inAxes entries must be integers or null, got ${JSON.stringify(ax)}`);
      if (!(arg instanceof NDArray) && !isContainer(arg)) {
        if (ax !== null) throw new TypeError(`[vmap] argument ${i} is not an array, so its inAxes entry must be null`);
        return;
      }
      map((l: unknown) => {
        if (l instanceof NDArray) {
          leaves.push(l);
          axes.push(ax === null ? null : normalizeAxis(ax, l.ndim, 'vmap'));
        }
        return l;
      }, arg);
    });
    const sizes = new Set(leaves.map((l, i) => (axes[i] === null ? -1 : l.shape[axes[i]!])).filter((s) => s >= 0));
    if (sizes.size === 0) throw new Error('[vmap] at least one argument must be mapped (inAxes are all null)');
    if (sizes.size > 1)
      throw new Error(
        `[vmap] mapped axes have different sizes: ${leaves.map((l, i) => (axes[i] === null ? '-' : `${fmtShape(l.shape)}@${axes[i]}`)).join(', ')}`,
      );
    const B = [...sizes][0];

    let result: R | undefined;
    let rebuildOut: ((xs: NDArray[]) => R) | null = null;
    const outs = vmapTraced(
      (...xs) => {
        let k = 0;
        const call = args.map((arg) => (arg instanceof NDArray || isContainer(arg) ? map((l: unknown) => (l instanceof NDArray ? xs[k++] : l), arg) : arg));
        result = fn(...(call as A));
        const outLeaves: NDArray[] = [];
        if (!(result instanceof NDArray) && !isContainer(result)) throw new TypeError('[vmap] the function must return an array or a tree of arrays');
        map((l: unknown) => (l instanceof NDArray ? outLeaves.push(l) : 0), result);
        rebuildOut = (ys) => {
          let j = 0;
          return map((l: unknown) => (l instanceof NDArray ? ys[j++] : l), result) as R;
        };
        return outLeaves;
      },
      leaves,
      axes,
      B,
    );
    const placed = outs.map((o, i) => {
      const ax = typeof outAxes === 'number' ? outAxes : outAxes[i];
      if (!Number.isInteger(ax)) throw new Error(`[vmap] outAxes must give an integer axis for output ${i}`);
      const dest = normalizeAxis(ax, o.ndim, 'vmap');
      return dest === 0 ? o : moveaxis(o, 0, dest);
    });
    return rebuildOut!(placed);
  };
}
