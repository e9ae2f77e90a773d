// Checks shared by the optimizers' constructors: hyperparameters are finite numbers in range.
import { NDArray } from '../../core/array.js';
import type { LearningRate } from './types.js';

/** A finite number, optionally bounded; TypeError for non-numbers. */
export function checkNumber(op: string, name: string, v: unknown, range: { min?: number; max?: number; maxExclusive?: boolean } = {}): number {
  if (typeof v !== 'number') throw new TypeError(`[${op}] ${name} must be a number, got ${typeof v}`);
  if (!Number.isFinite(v)) throw new Error(`[${op}] ${name} must be finite, got ${v}`);
  if (range.min !== undefined && v < range.min) throw new Error(`[${op}] ${name} must be >= ${range.min}, got ${v}`);
  if (range.max !== undefined && (range.maxExclusive ? v >= range.max : v > range.max))
    throw new Error(`[${op}] ${name} must be ${range.maxExclusive ? '<' : '<='} ${range.max}, got ${v}`);
  return v;
}

/** Two coefficients in [0, 1), as Adam's betas. */
export function checkBetas(op: string, v: unknown): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) throw new TypeError(`[${op}] betas must be a pair of numbers, got ${JSON.stringify(v)}`);
  return [checkNumber(op, 'betas[0]', v[0], { min: 0, max: 1, maxExclusive: true }), checkNumber(op, 'betas[1]', v[1], { min: 0, max: 1, maxExclusive: true })];
}

export function checkBoolean(op: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`[${op}] ${name} must be a boolean, got ${typeof v}`);
  return v;
}

/** A learning rate: a finite number, a size-1 array, or a schedule function. */
export function checkLearningRate(op: string, v: unknown): LearningRate {
  if (typeof v === 'function') return v as LearningRate;
  if (v instanceof NDArray) {
    if (v.size !== 1) throw new Error(`[${op}] learningRate array must have one element, got shape [${v.shape.join(', ')}]`);
    return v;
  }
  return checkNumber(op, 'learningRate', v);
}

/** Options objects: reject unknown keys so typos (`weightdecay`) do not pass silently. */
export function checkOptions(op: string, opts: unknown, known: readonly string[]): Record<string, unknown> {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError(`[${op}] options must be an object`);
  for (const k of Object.keys(opts)) if (!known.includes(k)) throw new Error(`[${op}] unknown option '${k}' (known: ${known.join(', ')})`);
  return opts as Record<string, unknown>;
}
