// Learning-rate schedules (MLX's, in camelCase): functions of the step count, 0 for the first
// update. Given a JS number they compute in float64 JS numbers; given the count as an array
// (what the optimizer passes) they build the same formula from float64 array ops, so a compiled
// training step follows the schedule. The optimizer stores the value as float32.
import { NDArray } from '../../core/array.js';
import { add, astype, cos, floor, minimum, multiply, power, subtract, where, greaterEqual, divide } from '../../ops/elementwise.js';
import type { Schedule } from './types.js';
import { checkNumber } from './validate.js';

/** A schedule that also takes the step count as an array. */
export interface ArraySchedule {
  (step: number): number;
  (step: NDArray): NDArray;
}
const ARRAY_SCHEDULE = Symbol('kiln.arraySchedule');

/** Whether `s` computes on array step counts (the built-in schedules and joins of them). */
export function isArraySchedule(s: unknown): s is ArraySchedule {
  return typeof s === 'function' && (s as unknown as Record<symbol, unknown>)[ARRAY_SCHEDULE] === true;
}

/** One formula, on numbers or on a float64 array of the step. */
function schedule(op: string, onNumber: (t: number) => number, onArray: (t: NDArray) => NDArray): ArraySchedule {
  const f = ((step: number | NDArray) => {
    if (step instanceof NDArray) {
      if (step.size !== 1) throw new Error(`[${op}] the step must have one element, got shape [${step.shape.join(', ')}]`);
      return onArray(astype(step, 'float64'));
    }
    return onNumber(checkStep(op, step));
  }) as ArraySchedule;
  Object.defineProperty(f, ARRAY_SCHEDULE, { value: true });
  return f;
}

function checkSteps(op: string, name: string, v: unknown, min: number): number {
  const n = checkNumber(op, name, v, { min });
  if (!Number.isInteger(n)) throw new Error(`[${op}] ${name} must be an integer, got ${n}`);
  return n;
}

function checkStep(op: string, step: unknown): number {
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0)
    throw new TypeError(`[${op}] the step must be a non-negative integer, got ${String(step)}`);
  return step;
}

/**
 * From `init` to `end` in `steps` equal increments, then `end`: init + min(t, steps)·(end − init)/steps.
 * @example
 * const warmup = kn.optim.linearSchedule(0, 1e-3, 100);
 * warmup(50) // 5e-4
 */
export function linearSchedule(init: number, end: number, steps: number): ArraySchedule {
  checkNumber('linearSchedule', 'init', init);
  checkNumber('linearSchedule', 'end', end);
  checkSteps('linearSchedule', 'steps', steps, 1);
  const rate = (end - init) / steps;
  return schedule(
    'linearSchedule',
    (t) => Math.min(t, steps) * rate + init,
    (t) => add(multiply(minimum(t, steps), rate), init),
  );
}

/**
 * Half a cosine from `init` down to `end` over `decaySteps`, then `end`:
 * end + (init − end)·½(1 + cos(π·min(t, decaySteps)/decaySteps)).
 * @example
 * const lr = kn.optim.cosineDecay(1e-1, 1000);
 * lr(500) // 0.05
 */
export function cosineDecay(init: number, decaySteps: number, end = 0): ArraySchedule {
  checkNumber('cosineDecay', 'init', init);
  checkSteps('cosineDecay', 'decaySteps', decaySteps, 1);
  checkNumber('cosineDecay', 'end', end);
  const w = Math.PI / decaySteps,
    half = (init - end) * 0.5;
  return schedule(
    'cosineDecay',
    (t) => end + half * (1 + Math.cos(w * Math.min(t, decaySteps))),
    (t) => add(multiply(add(cos(multiply(minimum(t, decaySteps), w)), 1), half), end),
  );
}

/**
 * init·rate^t.
 * @example
 * const lr = kn.optim.exponentialDecay(0.1, 0.9);
 * lr(2) // 0.081
 */
export function exponentialDecay(init: number, decayRate: number): ArraySchedule {
  checkNumber('exponentialDecay', 'init', init);
  checkNumber('exponentialDecay', 'decayRate', decayRate);
  return schedule(
    'exponentialDecay',
    (t) => init * decayRate ** t,
    (t) => multiply(power(decayRate, t), init),
  );
}

/**
 * init·rate^⌊t / stepSize⌋: decays by `decayRate` every `stepSize` steps.
 * @example
 * const lr = kn.optim.stepDecay(0.1, 0.5, 10);
 * lr(25) // 0.025
 */
export function stepDecay(init: number, decayRate: number, stepSize: number): ArraySchedule {
  checkNumber('stepDecay', 'init', init);
  checkNumber('stepDecay', 'decayRate', decayRate);
  checkSteps('stepDecay', 'stepSize', stepSize, 1);
  return schedule(
    'stepDecay',
    (t) => init * decayRate ** Math.floor(t / stepSize),
    (t) => multiply(power(decayRate, floor(divide(t, stepSize))), init),
  );
}

/**
 * Chains schedules: schedule i+1 takes over at boundaries[i] and sees the steps since then.
 * @example
 * const lr = kn.optim.joinSchedules([kn.optim.linearSchedule(0, 1e-3, 100), kn.optim.cosineDecay(1e-3, 900)], [100]);
 * lr(50) // 5e-4 (warm-up)
 * lr(100) // 0.001
 */
export function joinSchedules(schedules: readonly Schedule[], boundaries: readonly number[]): Schedule {
  if (!Array.isArray(schedules) || schedules.length === 0) throw new Error('[joinSchedules] needs at least one schedule');
  for (const [i, s] of schedules.entries()) if (typeof s !== 'function') throw new TypeError(`[joinSchedules] schedules[${i}] is not a function`);
  if (!Array.isArray(boundaries) || boundaries.length !== schedules.length - 1)
    throw new Error(
      `[joinSchedules] ${schedules.length} schedules need ${schedules.length - 1} boundaries, got ${Array.isArray(boundaries) ? boundaries.length : String(boundaries)}`,
    );
  boundaries.forEach((b, i) => {
    checkSteps('joinSchedules', `boundaries[${i}]`, b, 0);
    if (i > 0 && b <= boundaries[i - 1]) throw new Error(`[joinSchedules] boundaries must increase, got ${boundaries.join(', ')}`);
  });
  const list = [...schedules],
    bounds = [...boundaries];
  const pick = (t: number) => {
    let i = 0;
    while (i < bounds.length && t >= bounds[i]) i++;
    return i;
  };
  const onNumber = (t: number) => {
    const i = pick(t);
    return list[i](i === 0 ? t : t - bounds[i - 1]) as number;
  };
  if (!list.every(isArraySchedule)) return (step: number) => onNumber(checkStep('joinSchedules', step));
  const parts = list as ArraySchedule[];
  // on arrays: every piece at its own local step (clamped at 0), then the active one selected
  return schedule('joinSchedules', onNumber, (t) => {
    let out = parts[0](t);
    bounds.forEach((b, k) => {
      const local = parts[k + 1](maximumZero(subtract(t, b)));
      out = where(greaterEqual(t, b), local, out);
    });
    return out;
  });
}

const maximumZero = (t: NDArray) => where(greaterEqual(t, 0), t, 0);
