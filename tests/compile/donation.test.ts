// State a compiled call replaces may be written in place (core/compile/compile.ts privateCopies):
// the kernel that last reads a replaced state array writes its result into that array's buffer
// when nothing else can read the old value; any other holder (a handle, a lazy graph, a view, the
// same array passed as an argument) gets the old value unchanged, and state that is only read is
// never written.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

/** The native buffer behind an evaluated array (internal: identifies where its elements live). */
const bufferOf = (a: kn.NDArray): number => (a as unknown as { node: { data: { buf: { id: number } } } }).node.data.buf.id;

const ramp = (n: number, scale = 1) => kn.array(Float32Array.from({ length: n }, (_, i) => i * scale));

/** A compiled writer of one row of a [rows, 8] state array (the shape of a cache row update). */
function rowWriter(rows: number) {
  const s = { cache: kn.reshape(ramp(rows * 8), [rows, 8]) };
  kn.eval(s.cache);
  const step = kn.compile(
    (row: kn.NDArray, at: kn.NDArray) => {
      const idx = kn.broadcastTo(kn.reshape(at, [1, 1]), [1, 8]);
      s.cache = kn.putAlongAxis(s.cache, idx, kn.reshape(row, [1, 8]), 0);
      return kn.sum(s.cache);
    },
    { inputs: s, outputs: s },
  );
  const write = (value: number, at: number) => step(kn.full([8], value, 'float32'), kn.array(Int32Array.of(at), 'int32'));
  return { s, write };
}

const rowOf = (a: kn.NDArray, r: number) => Array.from((a.toTypedArray() as Float32Array).subarray(8 * r, 8 * r + 8));
const iota = (from: number) => Array.from({ length: 8 }, (_, i) => from + i);

describe('compiled state written in place', () => {
  it('a replaced state array keeps its buffer from call to call, the other rows intact', () => {
    const { s, write } = rowWriter(4);
    write(-1, 1).dispose(); // the tracing call
    const buf = bufferOf(s.cache);
    write(-2, 3).dispose();
    const total = write(-3, 0);
    expect(bufferOf(s.cache)).toBe(buf);
    const want = [...Array(8).fill(-3), ...Array(8).fill(-1), ...iota(16), ...Array(8).fill(-2)];
    expect(Array.from(s.cache.toTypedArray() as Float32Array)).toEqual(want);
    expect(total.item()).toBe(want.reduce((a, b) => a + b, 0));
  });

  it('another handle or a lazy graph on the old value keeps it (the call works on a copy)', () => {
    const { s, write } = rowWriter(4);
    write(-1, 1).dispose();
    const old = kn.multiply(s.cache, 1); // a lazy graph still reading the old value
    const alias = new kn.NDArray((s.cache as unknown as { node: never }).node); // a second handle
    const before = bufferOf(s.cache);
    write(-2, 0).dispose();
    expect(bufferOf(s.cache)).not.toBe(before);
    expect(rowOf(old, 0)).toEqual(iota(0));
    expect(rowOf(alias, 0)).toEqual(iota(0));
    expect(rowOf(s.cache, 0)).toEqual(Array(8).fill(-2));
    expect(rowOf(s.cache, 1)).toEqual(Array(8).fill(-1));
  });

  it('an evaluated view of the old buffer keeps its elements', () => {
    const { s, write } = rowWriter(4);
    write(-1, 1).dispose();
    const head = kn.slice(s.cache, [{ start: 0, stop: 1 }]);
    kn.eval(head);
    write(-2, 0).dispose();
    expect(rowOf(head, 0)).toEqual(iota(0));
    expect(rowOf(s.cache, 0)).toEqual(Array(8).fill(-2));
  });

  it('the same value passed as an argument is not written before the function reads it', () => {
    const s = { cache: ramp(16) };
    kn.eval(s.cache);
    // x is read after the row write (it needs the new cache's sum)
    const step = kn.compile((x: kn.NDArray, at: kn.NDArray) => kn.add(x, kn.sum((s.cache = kn.putAlongAxis(s.cache, at, kn.full([1], -100, 'float32'), 0)))), {
      inputs: s,
      outputs: s,
    });
    step(kn.zeros([16]), kn.array(Int32Array.of(2), 'int32')).dispose(); // trace: cache[2] = -100
    const alias = new kn.NDArray((s.cache as unknown as { node: never }).node); // the state's value, as an argument
    const out = step(alias, kn.array(Int32Array.of(5), 'int32'));
    const sum = 120 - 2 - 5 - 200;
    expect(Array.from((out.toTypedArray() as Float32Array).subarray(0, 6))).toEqual([0, 1, -100, 3, 4, 5].map((v) => v + sum));
    expect(Array.from((alias.toTypedArray() as Float32Array).subarray(0, 6))).toEqual([0, 1, -100, 3, 4, 5]);
    expect(Array.from((s.cache.toTypedArray() as Float32Array).subarray(0, 6))).toEqual([0, 1, -100, 3, 4, -100]);
  });

  it('state that is read but not replaced is never written', () => {
    const w = ramp(256, 0.5);
    kn.eval(w);
    const buf = bufferOf(w);
    // a row write over w's value would be in place if w were replaced state
    const f = kn.compile((at: kn.NDArray) => kn.sum(kn.putAlongAxis(w, at, kn.full([1], -1, 'float32'), 0)), { inputs: [w] });
    for (let k = 0; k < 3; k++) {
      const y = f(kn.array(Int32Array.of(k), 'int32'));
      expect(y.item()).toBe(0.5 * ((255 * 256) / 2) - 0.5 * k - 1);
      y.dispose();
    }
    expect(bufferOf(w)).toBe(buf);
    expect(Array.from((w.toTypedArray() as Float32Array).subarray(0, 3))).toEqual([0, 0.5, 1]);
  });
});
