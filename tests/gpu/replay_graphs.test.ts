// Compiled replays recorded as CUDA graphs (backends/cuda/replay_graphs.cc): from the second call a
// compiled function's list is relaunched as one graph while its operands keep their addresses.
// Every call must still give the CPU's results (new inputs each call, inputs at new addresses,
// state carried between calls), and an out-of-range index inside a recorded replay is raised at
// the next read with the CPU's message, after which the function works again.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

// this folder runs only on a GPU machine (npm run test:gpu): without a GPU it fails with the reason
if (!kn.gpuAvailable()) throw new Error(`tests/gpu needs a GPU: ${kn.info().gpuUnavailable}`);

const normal = (shape: number[], seed: number) => kn.random.normal(shape, { key: kn.random.key(seed) });
const close = (a: kn.NDArray, b: kn.NDArray, tol = 2e-5) => expect(kn.max(kn.abs(kn.subtract(a, b))).item()).toBeLessThan(tol);

// a small step with a matmul, a fused chain, a gather and a scatter (the kinds a decode step has)
function step(x: kn.NDArray, w: kn.NDArray, idx: kn.NDArray): kn.NDArray {
  const h = kn.tanh(kn.add(kn.matmul(x, w), 1));
  const rows = kn.take(h, idx, 0);
  return kn.add(kn.sum(rows, 0), kn.softmax(kn.reshape(h, [-1]), -1).sum());
}

describe('compiled replays as CUDA graphs', () => {
  it('twenty calls with new inputs each give the CPU results', () => {
    const w = normal([16, 16], 1);
    const f = kn.withDevice(kn.gpu, () => kn.compile(step));
    for (let i = 0; i < 20; i++) {
      const x = normal([8, 16], 100 + i),
        idx = kn.array([i % 8, (3 * i) % 8, 7], 'int32');
      const gpu = kn.withDevice(kn.gpu, () => f(x, w, idx));
      const cpu = kn.withDevice(kn.cpu, () => step(x, w, idx));
      close(
        kn.withDevice(kn.cpu, () => kn.astype(gpu, 'float32')),
        cpu,
      );
      kn.dispose(x, idx, gpu, cpu);
    }
    expect(f.info.traces).toBe(1);
  });

  it('state carried between calls (a counter and a cache row write) stays exact over 50 calls', () => {
    const state = { acc: kn.withDevice(kn.gpu, () => kn.zeros([4, 8])), n: kn.withDevice(kn.gpu, () => kn.zeros([], 'int32')) };
    const f = kn.withDevice(kn.gpu, () =>
      kn.compile(
        (row: kn.NDArray, pos: kn.NDArray) => {
          const idx = kn.broadcastTo(kn.reshape(pos, [1, 1]), [1, 8]);
          state.acc = kn.putAlongAxis(kn.add(state.acc, 1), idx, kn.reshape(row, [1, 8]), 0);
          state.n = kn.add(state.n, 1);
          return kn.sum(state.acc);
        },
        { inputs: state, outputs: state },
      ),
    );
    let expectAcc = Array.from({ length: 4 }, () => new Array(8).fill(0));
    for (let i = 0; i < 50; i++) {
      const row = kn.full([8], i),
        pos = kn.array([i % 4], 'int32');
      const s = f(row, pos);
      expectAcc = expectAcc.map((r) => r.map((v) => v + 1));
      expectAcc[i % 4] = new Array(8).fill(i);
      expect(s.item()).toBe(expectAcc.flat().reduce((a, b) => a + b, 0));
      kn.dispose(row, pos, s);
    }
    expect(state.n.item()).toBe(50);
    expect(state.acc.tolist()).toEqual(expectAcc);
  });

  it('an out-of-range index in a recorded replay is raised at the next read, then calls work again', () => {
    const w = normal([16, 16], 2);
    const f = kn.withDevice(kn.gpu, () => kn.compile(step));
    const x = normal([8, 16], 3);
    const good = kn.array([1, 2, 3], 'int32');
    for (let i = 0; i < 3; i++) kn.withDevice(kn.gpu, () => f(x, w, good)).toTypedArray(); // recorded from the second call
    const bad = kn.array([1, 9, 3], 'int32');
    expect(() => {
      const r = kn.withDevice(kn.gpu, () => f(x, w, bad));
      r.toTypedArray();
    }).toThrow(/\[take\] index 9 is out of bounds for an axis of size 8/);
    const r = kn.withDevice(kn.gpu, () => f(x, w, good));
    close(
      kn.withDevice(kn.cpu, () => kn.astype(r, 'float32')),
      kn.withDevice(kn.cpu, () => step(x, w, good)),
    );
  });

  it('a first call (not recorded yet) checks indices at once', () => {
    const w = normal([16, 16], 4);
    const f = kn.withDevice(kn.gpu, () => kn.compile(step));
    expect(() => kn.withDevice(kn.gpu, () => f(normal([8, 16], 5), w, kn.array([8], 'int32'))).toTypedArray()).toThrow(
      /\[take\] index 8 is out of bounds for an axis of size 8/,
    );
  });
});
