// Shape rules of the primitives (Primitive.shapeRule): a node's output shape at new input sizes,
// used by shapeless compile. One rule per primitive, attached in core/primitives.ts.
import { broadcastShapes, fmtShape, sizeOf } from './shape.js';
import type { ShapeContext } from './node.js';

/** Elementwise: the inputs broadcast together. */
export function elementwiseRule(c: ShapeContext): number[] {
  try {
    return broadcastShapes('shapeless', ...c.inputs);
  } catch {
    return c.fail(`its inputs ${c.inputs.map(fmtShape).join(', ')} do not broadcast`);
  }
}

export const sameAsInput = (c: ShapeContext): number[] => c.inputs[0].slice();

/** Reductions over the trailing params.r dims. */
export const reduceRule = (c: ShapeContext): number[] => c.inputs[0].slice(0, c.inputs[0].length - (c.params.r as number));

export const transposeRule = (c: ShapeContext): number[] => (c.params.perm as number[]).map((p) => c.inputs[0][p]);

export function matmulRule(c: ShapeContext): number[] {
  const [a, b] = c.inputs;
  if (a.length < 2 || b.length < 2) return c.fail('needs matrices');
  return [...broadcastShapes('matmul', a.slice(0, -2), b.slice(0, -2)), a[a.length - 2], b[b.length - 1]];
}

export function concatenateRule(c: ShapeContext): number[] {
  const ax = c.params.axis as number;
  const out = c.inputs[0].slice();
  out[ax] = c.inputs.reduce((t, x) => t + x[ax], 0);
  let off = 0;
  c.setParams({ ...c.params, offsets: c.inputs.map((x) => ((off += x[ax]), off - x[ax])) });
  return out;
}

/** Slices that keep a whole axis, a fixed count, or all but a fixed count (x[1:], x[:-1]). */
export function sliceRule(c: ShapeContext): number[] {
  const steps = c.params.steps as number[],
    tracedIn = c.tracedInputs[0],
    inS = c.inputs[0];
  return c.traced.map((d, k) => {
    if (inS[k] === tracedIn[k]) return d;
    if (d === tracedIn[k] && steps[k] === 1) return inS[k];
    if (steps[k] === 1 && tracedIn[k] - d > 0) return Math.max(0, inS[k] - (tracedIn[k] - d));
    return d;
  });
}

/**
 * Reshapes that regroup dims: input and output split into runs with equal products; a run with
 * one output dim takes the run's product, a run with several keeps all but one of them fixed
 * (the one `vary` names, else the first).
 */
export function reshapeRule(c: ShapeContext): number[] {
  const tracedIn = c.tracedInputs[0],
    inS = c.inputs[0],
    tracedOut = c.traced,
    vary = c.vary;
  const groups: [number[], number[]][] = [];
  let i = 0,
    o = 0;
  while (i < tracedIn.length || o < tracedOut.length) {
    const gi: number[] = [],
      go: number[] = [];
    let pi = 1,
      po = 1;
    // size-1 dims on either side form their own runs
    if (o < tracedOut.length && tracedOut[o] === 1 && (i >= tracedIn.length || tracedIn[i] !== 1)) {
      groups.push([[], [o++]]);
      continue;
    }
    if (i < tracedIn.length && tracedIn[i] === 1 && (o >= tracedOut.length || tracedOut[o] !== 1)) {
      groups.push([[i++], []]);
      continue;
    }
    do {
      if (pi <= po && i < tracedIn.length) pi *= tracedIn[(gi.push(i), i++)];
      else if (o < tracedOut.length) po *= tracedOut[(go.push(o), o++)];
      else break;
    } while (pi !== po || gi.length === 0 || go.length === 0);
    if (pi !== po) c.fail(`cannot split ${fmtShape(tracedIn)} into ${fmtShape(tracedOut)}`);
    groups.push([gi, go]);
  }
  const out = tracedOut.slice();
  for (const [gi, go] of groups) {
    if (go.length === 0) {
      if (gi.some((k) => inS[k] !== 1)) c.fail(`a dropped size-1 dim now has size ${gi.map((k) => inS[k]).join('x')}`);
      continue;
    }
    const p = gi.reduce((t, k) => t * inS[k], 1);
    if (go.length === 1) {
      out[go[0]] = gi.length ? p : 1;
      continue;
    }
    const tracedP = gi.reduce((t, k) => t * tracedIn[k], 1);
    if (p === tracedP) continue; // unchanged run
    const moving = go.filter((k) => vary?.has(k));
    if (moving.length > 1) c.fail(`more than one of the dims ${fmtShape(go.map((k) => tracedOut[k]))} split from one input dim changes size`);
    const m = moving[0] ?? go[0];
    const rest = go.filter((k) => k !== m).reduce((t, k) => t * tracedOut[k], 1);
    if (p % rest !== 0) c.fail(`${p} elements do not split into ${fmtShape(go.map((k) => tracedOut[k]))}`);
    out[m] = p / rest;
  }
  if (sizeOf(out) !== sizeOf(inS)) c.fail(`cannot infer the output shape for input ${fmtShape(inS)} (traced ${fmtShape(tracedIn)} -> ${fmtShape(tracedOut)})`);
  return out;
}
