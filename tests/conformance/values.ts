// Deterministic inputs for the conformance suite: per-dtype value generators over the shared
// seeded PRNG (tests/helpers/rng.ts).
// (No vitest import here, so scripts can reuse it.)
import { intMax, intMin, isInt, isSigned, is64, roundTo, type DType, type Val } from './reference.js';
export { mulberry32, seedOf } from '../helpers/rng.js';

// ---- values ---------------------------------------------------------------------------------

export interface Domain {
  /** float values drawn from [lo, hi] */
  lo: number;
  hi: number;
  /** draw x log-uniformly from [lo, hi] (0 < lo) instead */
  log?: boolean;
  /** snap floats to multiples of this (e.g. 0.25 makes exact halves for rounding ops) */
  quantum?: number;
  /** special float values spliced in at fixed positions */
  specials?: number[];
  /** integer range (clamped to the dtype); defaults to [-20, 20] */
  ilo?: number;
  ihi?: number;
  /** fraction of slots that take a special value (default 0.2) */
  specialRate?: number;
  /** splice in the dtype's extremes (min, max, min+1, max-1, 0, -1) for integer dtypes */
  extremes?: boolean;
  /** extra integer values spliced in (clamped to the dtype) */
  intSpecials?: number[];
}

export const FLOAT_SPECIALS = [NaN, Infinity, -Infinity, -0, 0];

export const DEFAULT_DOMAIN: Domain = { lo: -8, hi: 8, specials: FLOAT_SPECIALS, extremes: true };

function clampInt(d: DType, v: bigint): bigint {
  const lo = intMin(d),
    hi = intMax(d);
  return v < lo ? lo : v > hi ? hi : v;
}

const asVal = (d: DType, v: bigint): Val => (is64(d) ? v : Number(v));

/** Deterministic values of dtype `d` (already exact in it) for a domain, specials spliced in. */
export function genValues(d: DType, n: number, rng: () => number, dom: Domain = DEFAULT_DOMAIN): Val[] {
  const out: Val[] = new Array(n);
  let sp = Math.floor(rng() * 7);
  const rate = dom.specialRate ?? 0.2;
  // integer specials (clamped into the dtype) and the clamped integer range, computed once
  const ints = isInt(d)
    ? [...(dom.extremes ? [intMin(d), intMax(d), intMin(d) + 1n, intMax(d) - 1n, 0n, -1n] : []), ...(dom.intSpecials ?? []).map(BigInt)].map((v) =>
        asVal(d, clampInt(d, v)),
      )
    : [];
  let lo = dom.ilo ?? -20,
    hi = dom.ihi ?? 20;
  if (isInt(d)) {
    if (!isSigned(d)) {
      lo = Math.max(0, lo);
      hi = Math.max(hi, lo);
    }
    lo = Math.max(lo, Number(intMin(d)));
    hi = Math.min(hi, Number(intMax(d)));
  }
  const floatSpecials = isInt(d) || d === 'bool' ? [] : (dom.specials ?? []).map((v) => roundTo(d, v));
  for (let i = 0; i < n; i++) {
    const special = rng() < rate;
    if (d === 'bool') {
      out[i] = rng() < 0.5 ? 1 : 0;
    } else if (isInt(d)) {
      if (special && ints.length) out[i] = ints[sp++ % ints.length];
      else {
        const v = lo + Math.floor(rng() * (hi - lo + 1));
        out[i] = is64(d) ? BigInt(v) : v;
      }
    } else if (special && floatSpecials.length) {
      out[i] = floatSpecials[sp++ % floatSpecials.length];
    } else {
      let x: number;
      if (dom.log) {
        const l = Math.log(dom.lo) + rng() * (Math.log(dom.hi) - Math.log(dom.lo));
        x = Math.exp(l);
      } else x = dom.lo + rng() * (dom.hi - dom.lo);
      if (dom.quantum) x = Math.round(x / dom.quantum) * dom.quantum;
      out[i] = roundTo(d, x);
    }
  }
  return out;
}
