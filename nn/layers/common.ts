// Small argument helpers shared by the layers.
import type { NDArray } from '../../core/array.js';
import { fmtValue } from '../../core/shape.js';
import { split } from '../../ops/random.js';
import { unstack } from '../../ops/shape.js';
import { keep } from '../../core/memory.js';

/** A positive integer argument of a layer constructor. */
export function positiveInt(v: unknown, op: string, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`[${op}] ${what} must be a positive integer, got ${fmtValue(v)}`);
  return v;
}

/** A finite number argument, optionally with a lower bound. */
export function finite(v: unknown, op: string, what: string, opts: { min?: number; positive?: boolean } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`[${op}] ${what} must be a finite number, got ${fmtValue(v)}`);
  if (opts.positive && v <= 0) throw new Error(`[${op}] ${what} must be positive, got ${v}`);
  if (opts.min !== undefined && v < opts.min) throw new Error(`[${op}] ${what} must be at least ${opts.min}, got ${v}`);
  return v;
}

/** `n` independent keys from an optional key (undefined entries use the global key sequence). */
export function initKeys(key: NDArray | undefined, n: number): (NDArray | undefined)[] {
  return key === undefined ? new Array(n).fill(undefined) : unstack(split(key, n));
}

/** Options every layer with randomly initialised parameters accepts. */
export interface InitKeyOptions {
  /** random key for the initial parameters (reproducible models); default: global key sequence */
  key?: NDArray;
}

/**
 * State a layer replaces during forward (BatchNorm's running statistics, Dropout's key) must
 * outlive the kn.tidy around a training step: take it out of every enclosing tidy scope. The
 * layer owns it from then on and disposes it when a later call replaces it.
 */
export function keepState(a: NDArray): NDArray {
  return keep(a);
}
