// complex64 on the host: the JS form of one value is `{ re, im }` (numbers); storage is
// interleaved float32 pairs (re, im), as numpy's complex64 and MLX store it.

/** One complex value as JS sees it (`tolist()`, `item()`, and input to `kn.array`). */
export interface Complex {
  re: number;
  im: number;
}

export const isComplexValue = (x: unknown): x is Complex =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && typeof (x as Complex).re === 'number' && typeof (x as Complex).im === 'number';

/** Whether a nested list has a `{ re, im }` leaf (the first leaf decides, as numpy's first scalar does not). */
export function hasComplexLeaf(data: unknown): boolean {
  const stack = [data];
  let seen = 0;
  while (stack.length && seen < 1 << 20) {
    const x = stack.pop();
    seen++;
    if (isComplexValue(x)) return true;
    if (Array.isArray(x)) for (const y of x) stack.push(y);
  }
  return false;
}

/**
 * Shape and interleaved float32 storage of a nested list whose leaves are numbers, booleans,
 * bigints or `{ re, im }` objects (real leaves get im = 0).
 */
export function encodeComplexNested(data: unknown, op: string): { shape: number[]; raw: Float32Array } {
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  if (shape.length > 32) throw new RangeError(`[${op}] at most 32 dimensions are supported`);
  const size = shape.reduce((a, b) => a * b, 1);
  const raw = new Float32Array(2 * size);
  let pos = 0;
  const walk = (x: unknown, d: number, path: string) => {
    if (d === shape.length) {
      if (isComplexValue(x)) {
        raw[pos++] = x.re;
        raw[pos++] = x.im;
      } else if (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean') {
        raw[pos++] = Number(x);
        raw[pos++] = 0;
      } else throw new TypeError(`[${op}] element ${path || '(root)'} is ${x === null ? 'null' : typeof x}, expected a number or { re, im }`);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[d])
      throw new Error(
        `[${op}] ragged nested list: element ${path || '(root)'} has ${Array.isArray(x) ? `length ${x.length}` : 'a scalar'}, expected length ${shape[d]}`,
      );
    for (let i = 0; i < x.length; i++) walk(x[i], d + 1, `${path}[${i}]`);
  };
  walk(data, 0, '');
  return { shape, raw };
}

/** Complex values from interleaved storage. */
export function complexScalars(t: Float32Array): Complex[] {
  const out: Complex[] = new Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = { re: t[2 * i], im: t[2 * i + 1] };
  return out;
}
