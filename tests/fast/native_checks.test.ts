// The native kernels validate every command themselves (DESIGN.md §3): hand-made command lists
// with wrong shapes, dtypes, parameters or operand counts throw a clear Error, never crash.
import { afterAll, describe, expect, it } from 'vitest';
import { K, native } from '../../backends/native.js';
import { DTYPE_CODE, type DType } from '../../core/dtype.js';

const buf = native.alloc(1 << 16);
afterAll(() => native.free(buf));

interface Op {
  dtype: DType;
  shape: number[];
  strides?: number[];
}
function command(kernel: string, params: number[], ops: Op[]): Float64Array {
  const w: number[] = [K[kernel], params.length, ...params, ops.length];
  for (const o of ops) {
    const strides = o.strides ?? o.shape.map((_, i) => o.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    w.push(buf, DTYPE_CODE[o.dtype], 0, o.shape.length, ...o.shape, ...strides);
  }
  return new Float64Array(w);
}
const run = (kernel: string, params: number[], ops: Op[]) => () => native.run(command(kernel, params, ops));
const f32 = (...shape: number[]): Op => ({ dtype: 'float32', shape });

describe('native checks of the fused kernels', () => {
  it('the kernels are in the catalog', () => {
    for (const k of ['rms_norm', 'layer_norm', 'rope', 'attention']) expect(K[k]).toBeTypeOf('number');
  });

  it('a valid command runs', () => {
    expect(run('rms_norm', [1e-5], [f32(2, 4), f32(4), f32(2, 4)])).not.toThrow();
    expect(run('attention', [0.5, 1], [f32(1, 2, 3, 4), f32(1, 1, 5, 4), f32(1, 1, 5, 4), f32(1, 2, 3, 4)])).not.toThrow();
  });

  it('rms_norm / layer_norm', () => {
    expect(run('rms_norm', [1e-5], [f32(2, 4), f32(3), f32(2, 4)])).toThrow(/\[rms_norm\] operand 1 \(weight or bias\) must have shape \[4\]/);
    expect(run('rms_norm', [1e-5], [f32(2, 4), f32(2, 5)])).toThrow(/\[rms_norm\] x and output: shapes differ/);
    expect(run('rms_norm', [-1], [f32(2, 4), f32(2, 4)])).toThrow(/\[rms_norm\] eps must be a finite number >= 0/);
    expect(run('rms_norm', [1e-5], [{ dtype: 'int32', shape: [2, 4] }, f32(2, 4)])).toThrow(/\[rms_norm\] operand 0 must be a floating dtype, got int32/);
    expect(run('rms_norm', [1e-5], [f32(2, 4), f32(4), f32(4), f32(2, 4)])).toThrow(/\[rms_norm\] expects x and an optional weight/);
    expect(run('rms_norm', [1e-5], [f32(), f32()])).toThrow(/at least one dimension/);
    expect(run('layer_norm', [1e-5, 1, 0], [f32(2, 4), f32(2, 4)])).toThrow(/\[layer_norm\] has_weight=1 and has_bias=0 need 2 inputs, got 1/);
    expect(run('layer_norm', [1e-5, 2, 0], [f32(2, 4), f32(2, 4)])).toThrow(/\[layer_norm\] parameter 1 must be 0 or 1/);
    expect(run('layer_norm', [1e-5], [f32(2, 4), f32(2, 4)])).toThrow(/\[layer_norm\] expects 3..3 parameters, got 1/);
  });

  it('rope', () => {
    const ok = [4, 0, 10000, 1, 0, 0];
    expect(run('rope', ok, [f32(3, 8), f32(3, 8)])).not.toThrow();
    expect(run('rope', [5, 0, 10000, 1, 0, 0], [f32(3, 8), f32(3, 8)])).toThrow(/\[rope\] dims must be an even integer in \[2, 8\], got 5/);
    expect(run('rope', [10, 0, 10000, 1, 0, 0], [f32(3, 8), f32(3, 8)])).toThrow(/\[rope\] dims/);
    expect(run('rope', ok, [f32(8), f32(8)])).toThrow(/\[rope\] x must have shape \[\.\.\., L, D\]/);
    expect(run('rope', [4, 0, -1, 1, 0, 0], [f32(3, 8), f32(3, 8)])).toThrow(/\[rope\] base must be a finite positive number/);
    expect(run('rope', [4, 0, 10000, 1, 0.5, 0], [f32(3, 8), f32(3, 8)])).toThrow(/\[rope\] offset must be an integer/);
    expect(run('rope', [4, 0, 10000, 1, 0, 1], [f32(3, 8), f32(3), f32(3, 8)])).toThrow(/\[rope\] freqs must have shape \[2\]/);
    expect(run('rope', [4, 0, 10000, 1, 0, 1], [f32(3, 8), f32(3, 8)])).toThrow(/\[rope\] has_freqs=1 needs 2 inputs, got 1/);
    expect(run('rope', [4, 3, 10000, 1, 0, 0], [f32(3, 8), f32(3, 8)])).toThrow(/\[rope\] parameter 1 must be 0 or 1/);
  });

  it('attention', () => {
    const q = f32(1, 4, 3, 8),
      k = f32(1, 2, 5, 8),
      out = f32(1, 4, 3, 8);
    expect(run('attention', [1, 0], [q, k, f32(1, 2, 6, 8), out])).toThrow(/\[attention\] inconsistent shapes/);
    expect(run('attention', [1, 0], [q, f32(1, 3, 5, 8), f32(1, 3, 5, 8), out])).toThrow(
      /\[attention\] query heads 4 must be a multiple of key\/value heads 3/,
    );
    expect(run('attention', [1, 0], [q, k, k, f32(1, 4, 3, 7)])).toThrow(/\[attention\] inconsistent shapes/);
    expect(run('attention', [1, 3], [q, k, k, out])).toThrow(/\[attention\] mask_kind must be 0 \(none\), 1 \(causal\) or 2 \(array\)/);
    expect(run('attention', [1, 2], [q, k, k, out])).toThrow(/\[attention\] mask_kind 2 needs 4 inputs, got 3/);
    expect(run('attention', [1, 2], [q, k, k, f32(1, 4, 3, 4), out])).toThrow(/\[attention\] mask must have shape \[1, 4, 3, 5\]/);
    expect(run('attention', [1, 2], [q, k, k, { dtype: 'int8', shape: [1, 4, 3, 5] }, out])).toThrow(/\[attention\] mask must be bool or floating, got int8/);
    expect(run('attention', [NaN, 0], [q, k, k, out])).toThrow(/\[attention\] scale must be finite/);
    expect(run('attention', [1, 0], [f32(4, 3, 8), k, k, out])).toThrow(/\[attention\] q must have 4 dimensions/);
    expect(run('attention', [1, 0], [{ dtype: 'int32', shape: [1, 4, 3, 8] }, k, k, out])).toThrow(/\[attention\] q must be a floating dtype/);
    // views past the end of the buffer are refused before any kernel runs
    expect(run('attention', [1, 0], [f32(1, 4, 3, 8), f32(1, 2, 5000, 8), f32(1, 2, 5000, 8), out])).toThrow(/outside its buffer/);
  });
});

describe('the word count of a command list', () => {
  const words = command('rms_norm', [1e-5], [f32(2, 4), f32(4), f32(2, 4)]);
  it('runs only the words it names: a stale tail after them is never read', () => {
    const padded = new Float64Array(words.length + 3);
    padded.set(words);
    padded.fill(NaN, words.length); // garbage a reused encoding array may hold after the list
    expect(() => native.run(padded)).toThrow(/\[run\] invalid kernel id nan at word/);
    expect(() => native.run(padded, words.length)).not.toThrow();
    expect(() => native.run(padded, 0)).not.toThrow();
  });
  it('a count that is not a whole number of words inside the array is refused by name', () => {
    expect(() => native.run(words, words.length + 1)).toThrow(`[run] word count ${words.length + 1} is not an integer in [0, ${words.length}]`);
    expect(() => native.run(words, 2.5)).toThrow('[run] word count 2.5 is not an integer');
    expect(() => native.run(words, -1)).toThrow('[run] word count -1 is not an integer');
    expect(() => native.run(words, 3)).toThrow(/\[run\] command list ends early/);
    expect(() => native.runAsync(words, 99)).toThrow(/\[runAsync\] word count 99/);
  });
});
