// The input domains of every op the conformance suite runs (values drawn by values.ts's
// genValues): float ranges, special and edge values, integer ranges. One table per kernel family,
// apart from the tests so tests/catalog.test.ts can check that every native op has one.
import type { ReduceOp } from './reference.js';
import type { ScanOp } from './sort_scan_ref.js';
import type { Domain } from './values.js';

const S = [NaN, Infinity, -Infinity, -0, 0];

const EXT = { extremes: true };

/** Input domain of each unary op: float range + edge/special values, integer range. */
export const UNARY_DOMAINS: Record<string, Domain> = {
  negative: { lo: -8, hi: 8, specials: S, ...EXT },
  abs: { lo: -8, hi: 8, specials: S, ...EXT },
  sign: { lo: -8, hi: 8, specials: S, ...EXT },
  square: { lo: -8, hi: 8, specials: [...S, 300, -1e-3], ...EXT },
  exp: { lo: -10, hi: 10, specials: [...S, 12, -20, 100, -1e-7, 89], ilo: -10, ihi: 10 },
  expm1: { lo: -5, hi: 5, specials: [...S, 1e-6, -3e-5, 20, 1e-10], ilo: -10, ihi: 10 },
  log: { lo: 1e-3, hi: 1e3, log: true, specials: [...S, -1, 1, 0.5, 2, 1.0009765625], ilo: -3, ihi: 40 },
  log1p: { lo: -0.99, hi: 20, specials: [...S, -1, -2, 1e-6, -1e-5, 1e-10], ilo: -3, ihi: 40 },
  log2: { lo: 1e-3, hi: 1e3, log: true, specials: [...S, -1, 1, 2, 1024, 0.125], ilo: -3, ihi: 40 },
  log10: { lo: 1e-3, hi: 1e3, log: true, specials: [...S, -1, 1, 10, 1000, 0.01], ilo: -3, ihi: 40 },
  sqrt: { lo: 0, hi: 100, specials: [...S, -1, 1, 4, 2], ilo: -3, ihi: 40 },
  rsqrt: { lo: 1e-2, hi: 100, log: true, specials: [NaN, Infinity, 0, -1, 1, 4, 0.25], ilo: -3, ihi: 40 },
  reciprocal: { lo: 0.05, hi: 20, log: true, specials: [...S, -3, -0.5, 1, 8], ilo: -20, ihi: 20 },
  sin: { lo: -6.3, hi: 6.3, specials: [...S, 1e-6, Math.PI], ilo: -20, ihi: 20 },
  cos: { lo: -6.3, hi: 6.3, specials: [...S, Math.PI / 2], ilo: -20, ihi: 20 },
  tan: { lo: -1.5, hi: 1.5, specials: [...S, 1e-6, 1], ilo: -5, ihi: 5 },
  arcsin: { lo: -1, hi: 1, specials: [...S, 1, -1, 1.5, -2, 1e-6], ilo: -2, ihi: 2 },
  arccos: { lo: -1, hi: 1, specials: [...S, 1, -1, 1.5, -2], ilo: -2, ihi: 2 },
  arctan: { lo: -20, hi: 20, specials: [...S, 1e-6, 1e6], ilo: -20, ihi: 20 },
  sinh: { lo: -5, hi: 5, specials: [...S, 1e-6, 100], ilo: -5, ihi: 5 },
  cosh: { lo: -5, hi: 5, specials: [...S, 100], ilo: -5, ihi: 5 },
  tanh: { lo: -10, hi: 10, specials: [...S, 1e-6, 30, -30], ilo: -10, ihi: 10 },
  arcsinh: { lo: -50, hi: 50, specials: [...S, 1e-6, 1e10], ilo: -20, ihi: 20 },
  arccosh: { lo: 1, hi: 50, specials: [NaN, Infinity, -Infinity, 0, 1, 0.5, 1e10], ilo: 0, ihi: 40 },
  arctanh: { lo: -0.99, hi: 0.99, specials: [...S, 1, -1, 2, 1e-6], ilo: -2, ihi: 2 },
  sigmoid: { lo: -20, hi: 20, specials: [...S, 100, -100, -1000], ilo: -20, ihi: 20 },
  erf: { lo: -4, hi: 4, specials: [...S, 1e-6, 10, -10], ilo: -5, ihi: 5 },
  erfinv: { lo: -0.99, hi: 0.99, specials: [...S, 1, -1, 1.5, -2, 1e-6], ilo: -2, ihi: 2 },
  floor: { lo: -8, hi: 8, quantum: 0.25, specials: [...S, -0.25, 0.5, -0.5, 2.5, 1e10 + 0.5], ...EXT },
  ceil: { lo: -8, hi: 8, quantum: 0.25, specials: [...S, -0.25, 0.5, -0.5, 2.5], ...EXT },
  trunc: { lo: -8, hi: 8, quantum: 0.25, specials: [...S, -0.25, 0.5, -0.5, 2.5], ...EXT },
  round: { lo: -8, hi: 8, quantum: 0.25, specials: [...S, -0.25, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997], ...EXT },
  isnan: { lo: -8, hi: 8, specials: S, ...EXT },
  isinf: { lo: -8, hi: 8, specials: S, ...EXT },
  isfinite: { lo: -8, hi: 8, specials: S, ...EXT },
  logicalNot: { lo: -2, hi: 2, specials: S, specialRate: 0.4, ...EXT, ilo: -2, ihi: 2 },
  bitwiseInvert: { lo: -8, hi: 8, specials: S, ...EXT },
};

const GENERAL: Domain = { lo: -8, hi: 8, specials: S, extremes: true };
const GENERAL2: [Domain, Domain] = [GENERAL, GENERAL];

/** [domain of a, domain of b] per op; b also copies a's value in a quarter of the slots. */
export const BINARY_DOMAINS: Record<string, [Domain, Domain]> = {
  add: GENERAL2,
  subtract: GENERAL2,
  multiply: GENERAL2,
  maximum: GENERAL2,
  minimum: GENERAL2,
  equal: GENERAL2,
  notEqual: GENERAL2,
  less: GENERAL2,
  lessEqual: GENERAL2,
  greater: GENERAL2,
  greaterEqual: GENERAL2,
  logicalAnd: GENERAL2,
  logicalOr: GENERAL2,
  logicalXor: GENERAL2,
  bitwiseAnd: GENERAL2,
  bitwiseOr: GENERAL2,
  bitwiseXor: GENERAL2,
  divide: [GENERAL, { lo: -8, hi: 8, specials: [...S, 1, -1], extremes: true }],
  power: [
    { lo: 0.05, hi: 4, specials: [...S, 1, -1, -2, -8, 0.5], ilo: -6, ihi: 6, intSpecials: [0, 1, -1, 2, 3, 7] },
    { lo: -3, hi: 3, specials: [...S, 1 / 3, 2, 0.5, -1, 3], ilo: 0, ihi: 8, intSpecials: [0, 1, 31, 40, 63, 64] },
  ],
  remainder: [
    { lo: -20, hi: 20, specials: [...S, 7, -7], extremes: true },
    { lo: -5, hi: 5, specials: [...S, 2, -2, 0.1], extremes: true, ilo: -6, ihi: 6, intSpecials: [0, -1, 1] },
  ],
  floorDivide: [
    { lo: -20, hi: 20, specials: [...S, 7, -7, 1], extremes: true },
    { lo: -5, hi: 5, specials: [...S, 2, -2, 0.1], extremes: true, ilo: -6, ihi: 6, intSpecials: [0, -1, 1] },
  ],
  logaddexp: [
    { lo: -20, hi: 20, specials: S },
    { lo: -20, hi: 20, specials: [...S, 800] },
  ],
  arctan2: [
    { lo: -5, hi: 5, specials: S },
    { lo: -5, hi: 5, specials: S },
  ],
  leftShift: [
    { lo: 0, hi: 0, extremes: true },
    { lo: 0, hi: 0, ilo: 0, ihi: 12, intSpecials: [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65] },
  ],
  rightShift: [
    { lo: 0, hi: 0, extremes: true },
    { lo: 0, hi: 0, ilo: 0, ihi: 12, intSpecials: [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65] },
  ],
};
/** The [a, b] domains of a binary op (an error names an op that has none). */
export function domainsOf(op: string): [Domain, Domain] {
  const d = BINARY_DOMAINS[op];
  if (!d) throw new Error(`tests/conformance/domains.ts: no input domains for binary op '${op}'`);
  return d;
}

/** Input domain of each reduction. */
export const REDUCE_DOMAINS: Record<ReduceOp, Domain> = {
  sum: { lo: -4, hi: 4, specials: [NaN, Infinity, -Infinity, -0], specialRate: 0.04, extremes: true },
  mean: { lo: -4, hi: 4, specials: [NaN, Infinity, -0], specialRate: 0.04, extremes: true },
  prod: { lo: 0.6, hi: 1.6, specials: [-1, -0.5, 0, -0, NaN, Infinity], specialRate: 0.06, ilo: -3, ihi: 3, extremes: true },
  max: { lo: -8, hi: 8, specials: [NaN, Infinity, -Infinity, -0, 0], specialRate: 0.06, extremes: true },
  min: { lo: -8, hi: 8, specials: [NaN, Infinity, -Infinity, -0, 0], specialRate: 0.06, extremes: true },
  argmax: { lo: -8, hi: 8, specials: [NaN, Infinity, -Infinity, 0], specialRate: 0.06, extremes: true, ilo: -3, ihi: 3 },
  argmin: { lo: -8, hi: 8, specials: [NaN, Infinity, -Infinity, 0], specialRate: 0.06, extremes: true, ilo: -3, ihi: 3 },
  all: { lo: -1, hi: 1, specials: [0, -0, NaN], specialRate: 0.12, ilo: 1, ihi: 3, intSpecials: [0, -1] },
  any: { lo: -1, hi: 1, specials: [0, -0, 0, -0, NaN], specialRate: 0.8, ilo: 0, ihi: 0, intSpecials: [0, 0, 0, 5, -1], extremes: false },
};

/** Input domain of each scan. */
export const SCAN_DOMAINS: Record<ScanOp, Domain> = {
  cumsum: { lo: -4, hi: 4, specials: [NaN, Infinity, -Infinity, -0], specialRate: 0.04, extremes: true },
  cumprod: { lo: 0.6, hi: 1.6, specials: [-1, -0.5, 0, -0, NaN, Infinity], specialRate: 0.06, ilo: -3, ihi: 3, extremes: true },
  cummax: { lo: -8, hi: 8, specials: [NaN, Infinity, -Infinity, -0, 0], specialRate: 0.06, extremes: true },
  cummin: { lo: -8, hi: 8, specials: [NaN, Infinity, -Infinity, -0, 0], specialRate: 0.06, extremes: true },
  logcumsumexp: { lo: -6, hi: 6, specials: [-Infinity, Infinity, NaN], specialRate: 0.04, ilo: -4, ihi: 4 },
};

// few distinct values: many ties, so stability and NaN/-0 placement are exercised
export const SORT_DOMAIN: Domain = {
  lo: -3,
  hi: 3,
  quantum: 0.5,
  specials: [NaN, Infinity, -Infinity, -0, 0],
  specialRate: 0.15,
  ilo: -3,
  ihi: 3,
  extremes: true,
};
