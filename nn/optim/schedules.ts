// Learning-rate schedules (MLX's, in camelCase): functions of the step count, 0 for the first
// update. They compute in float64 JS numbers; the optimizer stores the value as float32.
import type { Schedule } from './optimizer.js';
import { checkNumber } from './validate.js';

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
 * @example const warmup = kn.optim.linearSchedule(0, 1e-3, 100); warmup(50) // 5e-4
 */
export function linearSchedule(init: number, end: number, steps: number): (step: number) => number {
  checkNumber('linearSchedule', 'init', init);
  checkNumber('linearSchedule', 'end', end);
  checkSteps('linearSchedule', 'steps', steps, 1);
  return (step) => Math.min(checkStep('linearSchedule', step), steps) * ((end - init) / steps) + init;
}

/**
 * Half a cosine from `init` down to `end` over `decaySteps`, then `end`:
 * end + (init − end)·½(1 + cos(π·min(t, decaySteps)/decaySteps)).
 * @example const lr = kn.optim.cosineDecay(1e-1, 1000); lr(500) // 0.05
 */
export function cosineDecay(init: number, decaySteps: number, end = 0): (step: number) => number {
  checkNumber('cosineDecay', 'init', init);
  checkSteps('cosineDecay', 'decaySteps', decaySteps, 1);
  checkNumber('cosineDecay', 'end', end);
  return (step) => {
    const s = Math.min(checkStep('cosineDecay', step), decaySteps);
    return end + (init - end) * 0.5 * (1 + Math.cos((Math.PI / decaySteps) * s));
  };
}

/**
 * init·rate^t.
 * @example const lr = kn.optim.exponentialDecay(0.1, 0.9); lr(2) // 0.081
 */
export function exponentialDecay(init: number, decayRate: number): (step: number) => number {
  checkNumber('exponentialDecay', 'init', init);
  checkNumber('exponentialDecay', 'decayRate', decayRate);
  return (step) => init * decayRate ** checkStep('exponentialDecay', step);
}

/**
 * init·rate^⌊t / stepSize⌋: decays by `decayRate` every `stepSize` steps.
 * @example const lr = kn.optim.stepDecay(0.1, 0.5, 10); lr(25) // 0.025
 */
export function stepDecay(init: number, decayRate: number, stepSize: number): (step: number) => number {
  checkNumber('stepDecay', 'init', init);
  checkNumber('stepDecay', 'decayRate', decayRate);
  checkSteps('stepDecay', 'stepSize', stepSize, 1);
  return (step) => init * decayRate ** Math.floor(checkStep('stepDecay', step) / stepSize);
}

/**
 * Chains schedules: schedule i+1 takes over at boundaries[i] and sees the steps since then.
 * @example
 * const lr = kn.optim.joinSchedules([kn.optim.linearSchedule(0, 1e-3, 100), kn.optim.cosineDecay(1e-3, 900)], [100]);
 * lr(50) // 5e-4 (warm-up); lr(100) // 1e-3 (cosine at its step 0)
 */
export function joinSchedules(schedules: readonly Schedule[], boundaries: readonly number[]): Schedule {
  if (!Array.isArray(schedules) || schedules.length === 0) throw new Error('[joinSchedules] needs at least one schedule');
  for (const [i, s] of schedules.entries()) if (typeof s !== 'function') throw new TypeError(`[joinSchedules] schedules[${i}] is not a function`);
  if (!Array.isArray(boundaries) || boundaries.length !== schedules.length - 1)
    throw new Error(`[joinSchedules] ${schedules.length} schedules need ${schedules.length - 1} boundaries, got ${Array.isArray(boundaries) ? boundaries.length : String(boundaries)}`);
  boundaries.forEach((b, i) => {
    checkSteps('joinSchedules', `boundaries[${i}]`, b, 0);
    if (i > 0 && b <= boundaries[i - 1]) throw new Error(`[joinSchedules] boundaries must increase, got ${boundaries.join(', ')}`);
  });
  const list = [...schedules], bounds = [...boundaries];
  return (step) => {
    checkStep('joinSchedules', step);
    let i = 0;
    while (i < bounds.length && step >= bounds[i]) i++;
    return list[i](i === 0 ? step : step - bounds[i - 1]);
  };
}
