// Helpers shared by the file-format suites: temporary files, raw bytes of arrays, random arrays.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll } from 'vitest';
import * as kn from '../../index.js';
import { readNode } from '../../core/eval.js';
import { fromRaw } from '../../ops/convert.js';
import type { DType } from '../../core/dtype.js';

export const SEED = 20251125;
export const FIXTURES = new URL('../fixtures/io/', import.meta.url).pathname;

/** A fresh temporary folder for this test file, removed after the suite. */
export function tempDir(prefix: string): (name: string) => string {
  const dir = mkdtempSync(join(tmpdir(), `kiln-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return (name: string) => join(dir, name);
}

/** The row-major bytes of an array (exact: NaN payloads, -0 and bfloat16 bits included). */
export function bytesOf(a: kn.Array): Buffer {
  return Buffer.from(readNode(a.node));
}

/** An array of `dtype` holding `raw` bytes (bool bytes are reduced to 0/1). */
export function arrayOfBytes(raw: Uint8Array, shape: number[], dtype: DType): kn.Array {
  const b = Uint8Array.from(raw);
  if (dtype === 'bool') for (let i = 0; i < b.length; i++) b[i] &= 1;
  return fromRaw(b, shape, dtype);
}

const SIZES: Record<DType, number> = {
  bool: 1,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  float16: 2,
  bfloat16: 2,
  float32: 4,
  float64: 8,
  complex64: 8,
};

export interface RandomArray {
  dtype: DType;
  shape: number[];
  raw: Uint8Array;
}

/** Random shapes (0-4 dims, some empty) and random bytes (every bit pattern) of the dtypes. */
export function randomArray(dtypes: readonly DType[], maxDim = 6): fc.Arbitrary<RandomArray> {
  return fc
    .record({ dtype: fc.constantFrom(...dtypes), shape: fc.array(fc.integer({ min: 0, max: maxDim }), { minLength: 0, maxLength: 4 }) })
    .chain(({ dtype, shape }) => {
      const n = shape.reduce((a, b) => a * b, 1) * SIZES[dtype];
      return fc.uint8Array({ minLength: n, maxLength: n }).map((raw) => ({ dtype, shape, raw }));
    });
}

/** Runs `fn` and reports whether it threw an Error (anything else thrown fails the test). */
export function throwsError(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`threw a non-Error: ${String(e)}`);
    if (!/^\[/.test(e.message)) throw new Error(`error message does not name the operation: ${e.message}`);
    return true;
  }
}

/** kn.load with the result type a test expects (kn.load's type follows a literal extension only). */
export const loadArray = (p: string): kn.Array => kn.load(p) as kn.Array;
export const loadRecord = (p: string): Record<string, kn.Array> => kn.load(p) as Record<string, kn.Array>;
