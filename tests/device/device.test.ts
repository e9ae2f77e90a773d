// The JS device API on a machine without a GPU (CI): names, errors, scopes, the device each
// command carries, and the compile cache keyed by the device a function is traced for.
// GPU behaviour is tested in tests/gpu (npm run test:gpu, on the GPU machine).
import './no_gpu.js';
import { afterEach, describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { native } from '../../backends/native.js';
import { currentDeviceIndex, withDeviceIndex } from '../../core/device.js';

const reason = native.devices().unavailable as string;

/** The kernel words of every command list run while `fn` runs (native.run still runs them). */
function kernelWords(fn: () => void): number[] {
  const orig = native.run;
  const lists: Float64Array[] = [];
  native.run = (c: Float64Array, n = c.length) => {
    lists.push(c.slice(0, n));
    return orig.call(native, c, n);
  };
  try {
    fn();
  } finally {
    native.run = orig;
  }
  // walk the encoding (backends/common/command.h): word, nparams, params, nops, ops (id, dtype, offset, ndim, shape, strides)
  const words: number[] = [];
  for (const c of lists) {
    let p = 0;
    while (p < c.length) {
      words.push(c[p++]);
      const np = c[p++];
      p += np;
      const nops = c[p++];
      for (let k = 0; k < nops; k++) {
        const ndim = c[p + 3];
        p += 4 + 2 * ndim;
      }
    }
  }
  return words;
}

afterEach(() => kn.setDefaultDevice('cpu'));

describe('devices on a machine without a GPU', () => {
  it('native.devices() has no GPU and says why', () => {
    expect(native.devices().devices).toEqual([]);
    expect(reason).toMatch(/CUDA|kiln_cuda/);
  });

  it('lists the CPU only; the default device is the CPU', () => {
    const ds = kn.devices();
    expect(ds.map(String)).toEqual(['cpu']);
    expect(ds[0]).toBe(kn.cpu);
    expect(kn.gpuAvailable()).toBe(false);
    expect(kn.defaultDevice()).toBe(kn.cpu);
    expect(kn.cpu.type).toBe('cpu');
    expect(kn.cpu.index).toBe(0);
    expect(kn.cpu.ordinal).toBe(0);
    expect(kn.cpu.name).toBe('cpu');
    expect(`${kn.cpu}`).toBe('cpu');
    expect(JSON.stringify({ d: kn.cpu })).toBe('{"d":"cpu"}');
  });

  it('kn.info() lists the devices and the reason', () => {
    const i = kn.info();
    expect(i.devices).toEqual([{ device: 'cpu', backend: 'cpu', name: 'cpu', arch: null, totalMemory: null }]);
    expect(i.gpuUnavailable).toBe(reason);
    expect(i.defaultDevice).toBe('cpu');
  });

  it('kn.gpu can be named; using it throws with the reason', () => {
    expect(kn.gpu.type).toBe('gpu');
    expect(String(kn.gpu)).toBe('gpu:0');
    const msg = `CUDA backend unavailable: ${reason}`;
    expect(() => kn.gpu.index).toThrow(msg);
    expect(() => kn.gpu.name).toThrow(/kn\.gpu: no GPU is available/);
    expect(() => kn.withDevice(kn.gpu, () => kn.ones([2]))).toThrow(msg);
    expect(() => kn.setDefaultDevice('gpu')).toThrow(msg);
    expect(() => kn.setDefaultDevice(kn.gpu)).toThrow(msg);
    expect(() => kn.zeros([2], { device: kn.gpu })).toThrow(msg);
    expect(() => kn.array([1], { device: 'gpu:0' })).toThrow(msg);
    expect(() => kn.memory.active({ device: kn.gpu })).toThrow(msg);
    expect(() => kn.memory.setLimit(1024, { device: 'gpu' })).toThrow(msg);
    // nothing changed
    expect(kn.defaultDevice()).toBe(kn.cpu);
  });

  it('bad device names are TypeErrors naming the op and the value', () => {
    expect(() => kn.setDefaultDevice('tpu' as never)).toThrow("[setDefaultDevice] unknown device 'tpu' (expected 'cpu', 'gpu' or 'gpu:N')");
    expect(() => kn.withDevice('gpu:x' as never, () => 0)).toThrow("[withDevice] unknown device 'gpu:x'");
    expect(() => kn.withDevice('cpu:1' as never, () => 0)).toThrow("[withDevice] unknown device 'cpu:1' (there is one CPU device: 'cpu')");
    expect(() => kn.withDevice(3 as never, () => 0)).toThrow(/\[withDevice\] device must be kn\.cpu, kn\.gpu.*got 3/);
    expect(() => kn.withDevice('cpu', 5 as never)).toThrow('[withDevice] expected a function');
    expect(() => kn.zeros([2], { device: 'metal' as never })).toThrow("[zeros] unknown device 'metal'");
    expect(() => kn.arange(3, { device: {} as never })).toThrow(/\[arange\] device must be/);
    expect(() => kn.memory.active({ device: 'gpu:-1' as never })).toThrow("[memory.active] unknown device 'gpu:-1'");
    expect(() => kn.memory.active({ devise: 'cpu' } as never)).toThrow("[memory.active] unknown option 'devise' (expected device)");
    expect(() => kn.memory.active(kn.cpu as never)).toThrow('[memory.active] expected options { device }');
    // case and spaces are forgiven; 'cpu' and 'cpu:0' are the CPU
    kn.setDefaultDevice(' CPU ' as never);
    kn.setDefaultDevice('cpu:0');
    expect(kn.defaultDevice()).toBe(kn.cpu);
  });

  it('creation ops take { dtype, device } in the dtype position', () => {
    expect(kn.zeros([2], { device: 'cpu' }).tolist()).toEqual([0, 0]);
    expect(kn.ones([2], { dtype: 'int8', device: kn.cpu }).dtype).toBe('int8');
    expect(kn.full([2], 3, { device: kn.cpu }).tolist()).toEqual([3, 3]);
    expect(kn.array([1, 2], { dtype: 'float16', device: 'cpu' }).dtype).toBe('float16');
    expect(kn.asarray([1, 2], { device: 'cpu' }).tolist()).toEqual([1, 2]);
    expect(kn.arange(0, 3, { dtype: 'float32', device: 'cpu' }).tolist()).toEqual([0, 1, 2]);
    expect(kn.zerosLike(kn.array([1, 2]), { device: 'cpu' }).tolist()).toEqual([0, 0]);
    expect(kn.fullLike(kn.array([1, 2]), 7, { device: 'cpu' }).tolist()).toEqual([7, 7]);
    // kn.random samplers take { device } in their options; the option wins over a scope
    const key = kn.random.key(0);
    const a = withDeviceIndex(5, () => kn.random.normal([3], { key, device: 'cpu' }));
    expect(a.node.device).toBe(0);
    expect(a.tolist()).toEqual(kn.random.normal([3], { key }).tolist());
    expect(withDeviceIndex(5, () => kn.random.uniform(0, 1, [2], { key, device: kn.cpu })).node.device).toBe(0);
    expect(withDeviceIndex(5, () => kn.random.randint(0, 9, [2], { key, device: kn.cpu })).node.device).toBe(0);
    expect(withDeviceIndex(5, () => kn.random.rand(2, 2, { key, device: kn.cpu })).node.device).toBe(0);
    expect(withDeviceIndex(5, () => kn.random.normal({ key })).node.device).toBe(5);
    expect(() => kn.random.normal([2], { key, device: 'npu' as never })).toThrow("[random.normal] unknown device 'npu'");
    // ops without a device option say so instead of ignoring it
    expect(() => kn.eye(3, { device: 'cpu' } as never)).toThrow('[eye] takes no device option: run it inside kn.withDevice(device, () => ...)');
  });
});

describe('withDevice scopes', () => {
  it('nests and restores, also when fn throws', () => {
    expect(currentDeviceIndex()).toBe(0);
    const r = kn.withDevice(kn.cpu, () =>
      withDeviceIndex(5, () => {
        const inner = currentDeviceIndex();
        const back = kn.withDevice('cpu', () => currentDeviceIndex());
        return [inner, back, currentDeviceIndex()];
      }),
    );
    expect(r).toEqual([5, 0, 5]);
    expect(currentDeviceIndex()).toBe(0);
    expect(() =>
      withDeviceIndex(3, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(currentDeviceIndex()).toBe(0);
    // the scope overrides the default device; setDefaultDevice inside a scope changes the default only
    withDeviceIndex(2, () => {
      kn.setDefaultDevice('cpu');
      expect(currentDeviceIndex()).toBe(2);
    });
  });

  it('follows async functions across awaits without leaking to the caller', async () => {
    let resolveIt!: () => void;
    const gate = new Promise<void>((r) => (resolveIt = r));
    const seen: number[] = [];
    const p = withDeviceIndex(4, async () => {
      seen.push(currentDeviceIndex());
      await gate;
      seen.push(currentDeviceIndex());
      return currentDeviceIndex();
    });
    // the caller runs on while fn awaits: its device is its own
    seen.push(currentDeviceIndex());
    resolveIt();
    expect(await p).toBe(4);
    expect(seen).toEqual([4, 0, 4]);
    expect(currentDeviceIndex()).toBe(0);
  });

  it('records the device on every node built inside', () => {
    const a = kn.array([1, 2]);
    const b = withDeviceIndex(7, () => kn.exp(a));
    expect(a.node.device).toBe(0);
    expect(b.node.device).toBe(7);
    expect(kn.add(a, 1).node.device).toBe(0);
    // { device } on a creation op scopes the nodes it builds (the fill and any cast)
    expect(kn.zeros([2], { dtype: 'int32', device: 'cpu' }).node.device).toBe(0);
  });
});

describe('commands carry their device in the kernel word', () => {
  it('CPU commands are device 0 (word = kernel id)', () => {
    const K = native.info().kernels;
    const words = kernelWords(() => {
      const x = kn.array([0.5, 2, 3]);
      kn.eval(kn.exp(x).sum(), kn.matmul(kn.ones([2, 2]), kn.ones([2, 2])));
    });
    expect(words.length).toBeGreaterThan(2);
    expect(words.every((w) => w < 4096)).toBe(true);
    expect(words).toContain(K.unary);
    expect(words).toContain(K.matmul);
  });

  it('an op recorded for device 1 reaches the native core as id + 4096, which names the missing device', () => {
    const K = native.info().kernels;
    const x = kn.array([0.5, 2, 3]);
    kn.eval(x);
    const y = withDeviceIndex(1, () => kn.exp(x));
    let words: number[] = [];
    expect(() => (words = kernelWords(() => kn.eval(y)))).toThrow(`[unary] device 1 is not available (0 accelerator(s) loaded: ${reason})`);
    words = [];
    const orig = native.run;
    native.run = (c: Float64Array, n?: number) => {
      words.push(c[0]);
      return orig.call(native, c, n);
    };
    try {
      expect(() => kn.eval(withDeviceIndex(1, () => kn.exp(x)))).toThrow(/device 1 is not available/);
    } finally {
      native.run = orig;
    }
    expect(words[0]).toBe(K.unary + 4096);
    // the process stays usable and x is intact
    expect(kn.exp(x).tolist()).toEqual([Math.exp(0.5), Math.exp(2), Math.exp(3)].map((v) => Math.fround(v)));
  });

  it('frees stay device 0 inside a device-1 list', () => {
    const K = native.info().kernels;
    const x = kn.array([0.5, 2, 3]);
    kn.eval(x);
    // exp then sum: exp's buffer is freed inside the list; the free is checked after the unary fails,
    // so encode through compile's recorder instead and read its words
    const words: number[] = [];
    const orig = native.run;
    native.run = (c: Float64Array, n = c.length) => {
      let p = 0;
      while (p < n) {
        words.push(c[p++]);
        p += c[p] + 1;
        const nops = c[p++];
        for (let k = 0; k < nops; k++) p += 4 + 2 * c[p + 3];
      }
      return orig.call(native, c, n);
    };
    try {
      expect(() => kn.eval(withDeviceIndex(1, () => kn.exp(x).sum()))).toThrow(/device 1 is not available/);
    } finally {
      native.run = orig;
    }
    expect(words).toEqual([K.unary + 4096, K.reduce + 4096, K.free]);
  });
});

describe('compile and devices', () => {
  it('the trace cache is keyed by the device a function is traced for', () => {
    const f = kn.compile((a: kn.Array) => kn.exp(a).add(1));
    const x = kn.array([0, 1]);
    expect(f(x).tolist()).toEqual([2, Math.fround(Math.E + 1)]);
    expect(f.info.traces).toBe(1);
    kn.withDevice(kn.cpu, () => f(x));
    expect(f.info.traces).toBe(1);
    // another device: a new trace whose commands carry that device
    expect(() => withDeviceIndex(1, () => f(x))).toThrow(/device 1 is not available/);
    expect(f.info.traces).toBe(2);
    // back on the CPU: the first trace, from the cache
    expect(f(x).tolist()).toEqual([2, Math.fround(Math.E + 1)]);
    expect(f.info.traces).toBe(2);
  });

  it('a fused kernel never spans devices', () => {
    // exp on device 3, add on the CPU: two kernels, not one fused program
    const f = kn.compile((a: kn.Array) => withDeviceIndex(3, () => kn.exp(a)).add(1));
    const x = kn.array([0, 1]);
    expect(() => f(x)).toThrow(/device 3 is not available/);
    const g = kn.compile((a: kn.Array) => kn.exp(a).add(1));
    g(x);
    expect(g.info.fused).toBe(1);
    expect(g.info.kernels).toBe(1);
  });
});

describe('memory per device', () => {
  it('the totals are the CPU stats when no GPU loaded; { device: cpu } is the CPU', () => {
    const keep = kn.ones([1000]);
    kn.eval(keep);
    const cpu = native.memory(0);
    expect(kn.memory.active()).toBe(cpu.active);
    expect(kn.memory.active({ device: kn.cpu })).toBe(cpu.active);
    expect(kn.memory.active({ device: 'cpu' })).toBeGreaterThanOrEqual(4000);
    expect(kn.memory.peak({ device: kn.cpu })).toBeGreaterThanOrEqual(kn.memory.active({ device: kn.cpu }));
    expect(kn.memory.cache({ device: kn.cpu })).toBe(native.memory(0).cache);
    kn.memory.setLimit(1 << 30, { device: kn.cpu });
    expect(kn.memory.getLimit({ device: kn.cpu })).toBe(1 << 30);
    expect(kn.memory.getLimit()).toBe(1 << 30);
    kn.memory.setLimit(0);
    kn.memory.setCacheLimit(1 << 20, { device: 'cpu' });
    expect(kn.memory.getCacheLimit({ device: 'cpu' })).toBe(1 << 20);
    kn.memory.setCacheLimit(4 * 2 ** 30);
    kn.memory.resetPeak({ device: kn.cpu });
    kn.memory.clearCache();
    expect(kn.memory.cache()).toBe(0);
    keep.dispose();
  });
});
