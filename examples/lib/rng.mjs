// A tiny seeded generator for data shuffling and batch offsets, so the examples' data pipeline is
// reproducible and independent of the array library (model randomness comes from kn.random).

/**
 * Returns a function that yields uniform floats in [0, 1) from a 32-bit seed.
 * @param {number} seed any integer
 * @returns {() => number}
 * @example const next = makeRng(0); next(); // 0 <= value < 1, same value every run
 */
export function makeRng(seed) {
  if (!Number.isInteger(seed)) throw new TypeError(`[makeRng] seed must be an integer, got ${seed}`);
  let state = (seed ^ 0x9e3779b9) >>> 0;
  return () => {
    // splitmix-style: advance by an odd constant, then scramble with two multiply-xorshift rounds
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
}

/**
 * Uniform integer in [0, n).
 * @param {() => number} rng from makeRng
 * @param {number} n exclusive upper bound
 * @example randomInt(makeRng(1), 10) // an integer 0..9
 */
export function randomInt(rng, n) {
  return Math.floor(rng() * n);
}

/**
 * Shuffles an array in place (Fisher–Yates) and returns it.
 * @template T
 * @param {T[]} items
 * @param {() => number} rng
 * @returns {T[]}
 * @example shuffleInPlace([1, 2, 3], makeRng(0)) // a permutation of [1, 2, 3]
 */
export function shuffleInPlace(items, rng) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}
