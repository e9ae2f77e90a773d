// The one seeded PRNG of the test suites (mulberry32: 32-bit state, fast, good enough for test
// data), independent of kiln's own random module so a bug there cannot hide in the inputs.
// No vitest or library import here, so fixture scripts and the conformance tools can use it.

/** Uniform numbers in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stable seed from a test's name (FNV-1a), so each case has its own deterministic data. */
export function seedOf(...parts: (string | number)[]): number {
  let h = 2166136261;
  for (const c of parts.join('|')) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

/** `n` uniform values in [lo, hi) from `seed`. */
export function uniformValues(n: number, seed: number, lo = -1, hi = 1): number[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => lo + r() * (hi - lo));
}
