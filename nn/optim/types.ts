// The learning-rate types, apart from the optimizer class so that validate.ts and schedules.ts
// (which optimizer.ts imports) can name them without importing optimizer.ts back.
import type { NDArray } from '../../core/array.js';

/**
 * A function of the step count (0 for the first update) giving a value such as the learning rate.
 * The built-in schedules also take the count as an array, so the optimizer computes them inside
 * the graph (a compiled training step then follows the schedule); a schedule of your own gets a
 * JS number, read from the state when the step runs.
 */
export type Schedule = (step: number) => number | NDArray;
/** A learning rate: a number, a size-1 array, or a schedule. */
export type LearningRate = number | NDArray | Schedule;
