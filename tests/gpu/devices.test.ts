// Mixed-device graphs, memory and errors on a machine with a GPU (npm run test:gpu; excluded from
// npm test). Every GPU result is compared with the same computation on the CPU. Kernels the CUDA
// backend does not run natively fall back to the CPU transparently, so each test picks ops the GPU
// runs (kn.gpu.kernels) where it needs device memory to be used.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

const gpu = kn.gpu;
const cpu = kn.cpu;
const native = new Set(gpu.kernels); // throws with the reason when no GPU loaded: this suite needs one

const onGpu = <T>(fn: () => T): T => kn.withDevice(gpu, fn);
const onCpu = <T>(fn: () => T): T => kn.withDevice(cpu, fn);
const gpuActive = () => kn.memory.active({ device: gpu });

/** An elementwise op the GPU runs natively (exp through 'unary'; else x * 2 through 'binary'). */
function gpuElementwise(x: kn.Array): kn.Array {
  if (native.has('unary')) return kn.exp(x);
  if (native.has('binary')) return kn.multiply(x, 2);
  throw new Error(`the CUDA backend runs neither unary nor binary natively (it has: ${[...native].join(', ')})`);
}

function close(a: kn.Array, b: kn.Array, rtol = 1e-5, atol = 1e-6): void {
  expect(a.shape).toEqual(b.shape);
  const x = a.astype('float64').toTypedArray() as Float64Array;
  const y = b.astype('float64').toTypedArray() as Float64Array;
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) - rtol * Math.abs(y[i]));
  expect(worst).toBeLessThanOrEqual(atol);
}

const dir = mkdtempSync(join(tmpdir(), 'kiln-gpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the GPU device', () => {
  it('is listed, named and the default', () => {
    expect(kn.gpuAvailable()).toBe(true);
    const ds = kn.devices();
    expect(ds[0]).toBe(cpu);
    expect(ds[1]).toBe(gpu);
    expect(gpu.index).toBe(1);
    expect(gpu.type).toBe('gpu');
    expect(gpu.backend).toBe('cuda');
    expect(String(gpu)).toBe('gpu:0');
    expect(gpu.name.length).toBeGreaterThan(0);
    expect(gpu.arch).toMatch(/^sm_\d+$/);
    expect(gpu.totalMemory).toBeGreaterThan(2 ** 30);
    if (process.env.KILN_DEVICE !== 'cpu') expect(kn.defaultDevice()).toBe(gpu);
    const info = kn.info();
    expect(info.gpuUnavailable).toBeNull();
    expect(info.devices[1]).toMatchObject({ device: 'gpu:0', backend: 'cuda', name: gpu.name, arch: gpu.arch });
    expect(kn.withDevice('gpu:0', () => kn.ones([1]).node.device)).toBe(1);
    expect(() => kn.withDevice(`gpu:${ds.length - 1}` as 'gpu:0', () => 0)).toThrow(/does not exist/);
  });

  it('memory totals add up the devices', () => {
    const x = onGpu(() => gpuElementwise(kn.ones([4096])));
    kn.eval(x);
    expect(gpuActive()).toBeGreaterThanOrEqual(4096 * 4);
    const sum =
      kn.memory.active({ device: cpu }) +
      kn
        .devices()
        .slice(1)
        .reduce((s, d) => s + kn.memory.active({ device: d }), 0);
    expect(kn.memory.active()).toBe(sum);
    expect(kn.memory.peak({ device: gpu })).toBeGreaterThanOrEqual(gpuActive());
    x.dispose();
  });
});

describe('mixed-device graphs', () => {
  it('a GPU op on a mapped safetensors array', () => {
    const w = onCpu(() => kn.reshape(kn.arange(0, 6, 0.5, 'float32'), [3, 4]));
    const path = join(dir, 'w.safetensors');
    kn.saveSafetensors(path, { w });
    const { tensors } = kn.loadSafetensors(path);
    const want = onCpu(() => gpuElementwise(w).sum(-1));
    const got = onGpu(() => gpuElementwise(tensors.w).sum(-1));
    close(got, want);
    // the mapped array itself still reads back unchanged
    expect(tensors.w.tolist()).toEqual(w.tolist());
  });

  it('a CPU op on a GPU result, and reading a GPU result', () => {
    const x = kn.array([0.25, -1, 2, 3.5]);
    const g = onGpu(() => gpuElementwise(x));
    kn.eval(g);
    const want = onCpu(() => gpuElementwise(x));
    close(g, want);
    close(
      onCpu(() => kn.add(g, 1).sum()),
      onCpu(() => kn.add(want, 1).sum()),
    );
    expect(onGpu(() => g.sum()).item()).toBeCloseTo(want.sum().item(), 4);
  });

  it('a graph that alternates devices, in one evaluation and step by step', () => {
    const x0 = onCpu(() => kn.reshape(kn.arange(0, 12, 'float32'), [3, 4]).multiply(0.1));
    const m = onCpu(() => kn.full([4, 4], 0.25));
    const step = (y: kn.Array, k: number) => {
      const a = gpuElementwise(y).multiply(0.5);
      return k % 2 ? kn.matmul(a, m) : kn.subtract(a, kn.max(a, -1, { keepdims: true }));
    };
    const chain = (devs: kn.Device[], evalEach: boolean) => {
      let y = x0;
      devs.forEach((d, k) => {
        y = kn.withDevice(d, () => step(y, k));
        if (evalEach) kn.eval(y);
      });
      return y;
    };
    const alt = [gpu, cpu, gpu, cpu, gpu, gpu, cpu, gpu];
    const want = chain(
      alt.map(() => cpu),
      false,
    );
    close(chain(alt, false), want, 1e-4, 1e-5);
    close(chain(alt, true), want, 1e-4, 1e-5);
    // compiled for each device: two traces, the same values
    const f = kn.compile((a: kn.Array) => step(step(a, 0), 1));
    const c1 = onCpu(() => f(x0));
    const g1 = onGpu(() => f(x0));
    expect(f.info.traces).toBe(2);
    close(g1, c1, 1e-4, 1e-5);
    onGpu(() => f(x0));
    expect(f.info.traces).toBe(2);
  });

  it('donation across devices: a GPU kernel writes over a dead CPU intermediate', () => {
    const x = onCpu(() => kn.arange(0, 4096, 'float32').multiply(1e-3));
    kn.eval(x);
    const build = (d: kn.Device) => {
      const t = onCpu(() => kn.add(x, 1)); // dead after its one reader: its buffer may be donated
      return kn.withDevice(d, () => gpuElementwise(t));
    };
    const want = build(cpu);
    const got = build(gpu);
    kn.eval(got);
    close(got, want);
    // and back: a CPU kernel over a dead GPU intermediate
    const back = onCpu(() =>
      kn.multiply(
        onGpu(() => gpuElementwise(x)),
        3,
      ),
    );
    close(
      back,
      onCpu(() => kn.multiply(gpuElementwise(x), 3)),
    );
    // an evaluated array nobody else holds, updated in place on the GPU by put_
    const z = onCpu(() => kn.zeros([8]));
    kn.eval(z);
    onGpu(() => kn.put_(z, kn.array([1, 3], 'int32'), kn.array([5, 7], 'float32')));
    expect(z.tolist()).toEqual([0, 5, 0, 7, 0, 0, 0, 0]);
  });
});

describe('GPU memory', () => {
  it('tidy frees GPU memory: active is back to its start after 10,000 small graphs', () => {
    const x = onGpu(() => kn.ones([64]));
    kn.eval(x);
    kn.eval(onGpu(() => gpuElementwise(x))); // warm the allocator
    const start = gpuActive();
    const buffers = kn.memory.buffers();
    let last = 0;
    for (let i = 0; i < 10_000; i++)
      kn.tidy(() => {
        const y = onGpu(() => gpuElementwise(x).sum());
        if (i % 1000 === 0) last = y.item();
        else kn.eval(y);
      });
    expect(last).toBeGreaterThan(0);
    expect(gpuActive()).toBe(start);
    expect(kn.memory.buffers()).toBe(buffers);
  });

  it('dispose frees GPU memory too', () => {
    const x = onGpu(() => kn.ones([1 << 16]));
    kn.eval(x);
    const start = gpuActive();
    for (let i = 0; i < 1000; i++) {
      const y = onGpu(() => gpuElementwise(x));
      kn.eval(y);
      if (i === 0) expect(gpuActive()).toBeGreaterThan(start);
      y.dispose();
    }
    expect(gpuActive()).toBe(start);
  });

  it('out of memory on the GPU is a JS error naming the request, the limit and the device; the process stays usable', () => {
    const x = onCpu(() => kn.ones([1 << 20])); // 4 MiB
    kn.eval(x);
    kn.memory.clearCache({ device: gpu });
    const limit = gpuActive() + (1 << 20);
    kn.memory.setLimit(limit, { device: gpu });
    try {
      expect(kn.memory.getLimit({ device: gpu })).toBe(limit);
      const y = onGpu(() => gpuElementwise(x));
      expect(() => kn.eval(y)).toThrow(new RegExp(`\\[memory\\] allocating \\d+ bytes on cuda:\\d .*would exceed its memory limit of ${limit} bytes`));
    } finally {
      kn.memory.setLimit(0, { device: gpu });
    }
    // usable: the same op now runs, and matches the CPU
    close(
      onGpu(() => gpuElementwise(x).sum()),
      onCpu(() => gpuElementwise(x).sum()),
      1e-5,
      1e-2,
    );
    const cacheLimit = kn.memory.getCacheLimit({ device: gpu });
    kn.memory.setCacheLimit(0, { device: gpu });
    kn.memory.clearCache({ device: gpu });
    expect(kn.memory.cache({ device: gpu })).toBe(0);
    // -1 is the default (half the device's memory): restore an equivalent value
    kn.memory.setCacheLimit(cacheLimit >= 0 ? cacheLimit : Math.floor(gpu.totalMemory! / 2), { device: gpu });
  });

  it('a disposed GPU array gives a clear error', () => {
    const a = onGpu(() => gpuElementwise(kn.ones([4])));
    kn.eval(a);
    a.dispose();
    expect(() => a.tolist()).toThrow('[kiln] this array was disposed and cannot be used');
    expect(() => onGpu(() => kn.add(a, 1))).toThrow('[kiln] this array was disposed and cannot be used');
    expect(onGpu(() => gpuElementwise(kn.zeros([2]))).tolist()).toEqual(onCpu(() => gpuElementwise(kn.zeros([2]))).tolist());
  });
});

describe('evalAsync on the GPU', () => {
  it('computes the same values and pipelines steps (queue n+1, then read n)', async () => {
    const w = onCpu(() => kn.eye(64).multiply(0.5));
    const x0 = onCpu(() => kn.ones([4, 64]));
    const want: number[] = [];
    let c = x0;
    for (let i = 0; i < 6; i++) {
      c = onCpu(() => kn.matmul(gpuElementwise(c).multiply(0.01), w));
      want.push(c.sum().item());
    }
    let y = x0;
    let prev: kn.Array | null = null;
    const got: number[] = [];
    for (let i = 0; i < 6; i++) {
      y = onGpu(() => kn.matmul(gpuElementwise(y).multiply(0.01), w));
      const s = onGpu(() => y.sum());
      const p = kn.evalAsync(s);
      if (prev) got.push(prev.item());
      await p;
      prev = s;
    }
    got.push(prev!.item());
    for (let i = 0; i < 6; i++) expect(got[i]).toBeCloseTo(want[i], 3);
  });

  it('an async withDevice scope keeps the GPU across awaits', async () => {
    const r = await kn.withDevice(gpu, async () => {
      const a = gpuElementwise(kn.ones([8]));
      await kn.evalAsync(a);
      const b = kn.add(a, 1);
      return [a.node.device, b.node.device];
    });
    expect(r).toEqual([1, 1]);
    expect(onCpu(() => kn.ones([1]).node.device)).toBe(0);
  });
});
