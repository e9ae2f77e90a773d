// The kiln side of the GPU benchmark (issue 13): each row's median time per op, written as one
// JSON line per row (so a run cut short keeps the rows it finished). bench/gpu/ops_torch.py does
// the same work in PyTorch; bench/gpu/table.mjs joins both into one table; bench/gpu/run.sh runs all.
// Runs dist/ (npx tsc -p tsconfig.json first).
// Env: KILN_BENCH_DEVICE=gpu|cpu (default gpu), KILN_BENCH_SMALL=1 (small sizes, to check the script),
//      KILN_BENCH_PROBE=1 (one call per row, no timing: run under KILN_DEBUG=1 to see CPU fallbacks),
//      KILN_BENCH_OUT=file (JSON lines; default: stdout), KILN_BENCH_ROWS=id1,id2 (only those rows).
import { appendFileSync } from 'node:fs';

const kn = await import('../../dist/index.js');

const env = process.env;
const small = env.KILN_BENCH_SMALL === '1';
const probe = env.KILN_BENCH_PROBE === '1';
const only = env.KILN_BENCH_ROWS ? new Set(env.KILN_BENCH_ROWS.split(',')) : null;
const device = env.KILN_BENCH_DEVICE === 'cpu' ? kn.cpu : kn.gpu;
const out = env.KILN_BENCH_OUT;

const emit = (obj) => {
  const line = JSON.stringify(obj);
  if (out) appendFileSync(out, line + '\n');
  else console.log(line);
};
// markers in stderr, so the fallback lines KILN_DEBUG=1 prints can be tied to a row
const mark = (what, id) => process.stderr.write(`@@kiln ${what} ${id}\n`);

const whyNoGpu = () => {
  try {
    kn.withDevice(kn.gpu, () => kn.array([1]).eval());
    return 'unknown reason';
  } catch (e) {
    return String(e?.message ?? e).split('\n')[0];
  }
};
if (device.type === 'gpu' && !kn.gpuAvailable()) {
  emit({ meta: true, devices: kn.devices().map(String), error: `no GPU: ${whyNoGpu()}` });
  process.exit(1);
}
kn.setDefaultDevice(device);
emit({ meta: true, devices: kn.devices().map((d) => `${d} (${d.name})`), device: `${device} (${device.name})`, small, probe });

// ---- timing: N calls (each evaluated, the previous result freed), then one synchronising read ----
const tiny = kn.array([1.5]).eval();
const sync = () => kn.add(tiny, 1).item(); // the stream runs in order: this read waits for everything before it
const now = () => performance.now();

function timeSteps(step, { targetMs = small ? 5 : 25, reps = 5, maxIters = 2000 } = {}) {
  let prev = null;
  const run = (n) => {
    for (let i = 0; i < n; i++) {
      const y = step();
      kn.eval(y);
      if (prev) kn.dispose(prev);
      prev = y;
    }
    sync();
  };
  run(probe ? 1 : 2); // warm-up (compiles, allocator)
  if (probe) {
    kn.dispose(prev);
    return null;
  }
  let t = now();
  run(1);
  const one = now() - t;
  if (one > 500) reps = 3; // slow (a CPU fallback?): keep the whole run inside its time limit
  const iters = Math.max(1, Math.min(maxIters, Math.ceil(targetMs / Math.max(one, 1e-3))));
  const samples = [];
  for (let r = 0; r < reps; r++) {
    t = now();
    run(iters);
    samples.push((now() - t) / iters);
  }
  kn.dispose(prev);
  samples.sort((a, b) => a - b);
  return { ms: samples[samples.length >> 1], iters, reps };
}

// ---- inputs: random, never zeros ----
// uniform inputs are shared between rows of one shape (slot 0 or 1): fewer 1 GiB draws
let seed = 1;
const shared = new Map();
const uniform = (shape, dtype = 'float32', slot = 0) => {
  const key = `${shape}|${dtype}|${slot}`;
  if (!shared.has(key)) {
    const x = kn.random.uniform(-2, 2, shape, { key: kn.random.key(seed++) });
    shared.set(key, (dtype === 'float32' ? x : kn.astype(x, dtype)).eval());
  }
  return shared.get(key);
};
const normal = (shape, scale = 1, dtype = 'float32') => {
  const x = kn.multiply(kn.random.normal(shape, { key: kn.random.key(seed++) }), scale);
  return (dtype === 'float32' ? x : kn.astype(x, dtype)).eval();
};

// ---- the rows (ids shared with ops_torch.py) ----
const M = (n) => (small ? n >> 8 : n); // 16M -> 64K, 256M -> 1M in small mode
const N16 = M(1 << 24),
  N256 = M(1 << 28),
  N64 = M(1 << 26);
const S = small ? 256 : 4096; // the square size of sums, softmax and matmul
const B = small ? { L: 64, D: 256, H: 4, F: 512 } : { L: 512, D: 2048, H: 16, F: 5632 };

const rows = [];
const row = (id, fn) => rows.push({ id, fn });
const bw = (bytes) => ({ bytes }); // memory-bound: GB/s against the copy
const fl = (flops, dtype) => ({ flops, dtype }); // compute-bound: TFLOP/s

row('copy 1GiB f32', () => {
  const x = uniform([N256]);
  return { step: () => kn.copy(x), ...bw(8 * N256), note: 'kn.copy' };
});
for (const [tag, n] of [
  ['16M', N16],
  ['256M', N256],
]) {
  row(`add f32 ${tag}`, () => {
    const x = uniform([n]),
      y = uniform([n], 'float32', 1);
    return { step: () => kn.add(x, y), ...bw(12 * n) };
  });
  row(`exp f32 ${tag}`, () => {
    const x = uniform([n]);
    return { step: () => kn.exp(x), ...bw(8 * n) };
  });
  row(`cast f32->bf16 ${tag}`, () => {
    const x = uniform([n]);
    return { step: () => kn.astype(x, 'bfloat16'), ...bw(6 * n) };
  });
}
row(`sum last axis f32 ${S}x${S}`, () => {
  const x = uniform([S, S]);
  return { step: () => kn.sum(x, -1), ...bw(4 * S * S + 4 * S) };
});
row(`sum all f32 ${small ? '256K' : '64M'}`, () => {
  const x = uniform([N64]);
  return { step: () => kn.sum(x), ...bw(4 * N64) };
});
for (const dt of ['float32', 'bfloat16']) {
  const sz = dt === 'float32' ? 4 : 2;
  row(`softmax last axis ${dt === 'float32' ? 'f32' : 'bf16'} ${S}x${S}`, () => {
    const x = normal([S, S], 1, dt);
    return { step: () => kn.softmax(x, -1), ...bw(2 * sz * S * S) };
  });
}
for (const dt of ['bfloat16', 'float16', 'float32']) {
  const short = { bfloat16: 'bf16', float16: 'f16', float32: 'f32' }[dt];
  row(`matmul ${short} ${S}^3${dt === 'float32' ? ' (no TF32)' : ''}`, () => {
    const a = normal([S, S], 1 / Math.sqrt(S), dt),
      b = normal([S, S], 1, dt);
    return { step: () => kn.matmul(a, b), ...fl(2 * S * S * S, dt) };
  });
}
// gelu with erf (what torch.nn.functional.gelu computes), compiled into one fused kernel
const gelu = (x) => kn.divide(kn.multiply(x, kn.add(kn.erf(kn.divide(x, Math.SQRT2)), 1)), 2);
row(`compiled gelu f32 ${small ? '64K' : '16M'}`, () => {
  const x = normal([N16]);
  const g = kn.compile(gelu);
  return { step: () => g(x), ...bw(8 * N16), note: 'kn.compile vs torch eager F.gelu' };
});
// transformer block: RMSNorm, causal attention (kn.fast.scaledDotProductAttention), SwiGLU MLP
function block(x, n1, wq, wk, wv, wo, n2, w1, w3, w2) {
  const { L, D, H } = B,
    Dh = D / H;
  const heads = (a) => kn.transpose(kn.reshape(a, [1, L, H, Dh]), [0, 2, 1, 3]);
  const h = kn.fast.rmsNorm(x, n1, 1e-6);
  const q = heads(kn.matmul(h, wq)),
    k = heads(kn.matmul(h, wk)),
    v = heads(kn.matmul(h, wv));
  const o = kn.reshape(kn.transpose(kn.fast.scaledDotProductAttention(q, k, v, { mask: 'causal' }), [0, 2, 1, 3]), [1, L, D]);
  const x2 = kn.add(x, kn.matmul(o, wo));
  const h2 = kn.fast.rmsNorm(x2, n2, 1e-6);
  const a = kn.matmul(h2, w1),
    g = kn.matmul(h2, w3);
  return kn.add(x2, kn.matmul(kn.multiply(kn.multiply(a, kn.sigmoid(a)), g), w2));
}
row(`compiled block bf16 L${B.L} D${B.D} H${B.H}`, () => {
  const { L, D, F } = B;
  const bf = 'bfloat16';
  const args = [
    normal([1, L, D], 1, bf),
    normal([D], 1, bf),
    normal([D, D], 1 / Math.sqrt(D), bf),
    normal([D, D], 1 / Math.sqrt(D), bf),
    normal([D, D], 1 / Math.sqrt(D), bf),
    normal([D, D], 1 / Math.sqrt(D), bf),
    normal([D], 1, bf),
    normal([D, F], 1 / Math.sqrt(D), bf),
    normal([D, F], 1 / Math.sqrt(D), bf),
    normal([F, D], 1 / Math.sqrt(F), bf),
  ];
  const f = kn.compile(block);
  // matmul flops (4 projections, 3 MLP) + attention's two products (full L x L, as torch counts nothing less)
  const flops = 2 * L * D * D * 4 + 2 * L * D * F * 3 + 2 * 2 * L * L * D;
  return { step: () => f(...args), ...fl(flops, bf), note: 'kn.compile vs torch eager' };
});
row(`sort f32 ${small ? '64K' : '16M'}`, () => {
  const x = uniform([N16]);
  return { step: () => kn.sort(x), keys: N16 };
});
// launch overhead: one tiny op and a read per op; then 1000 tiny ops and one read
row('tiny add + item()', () => {
  const x = kn.array([0.5]).eval();
  return {
    direct: (n) =>
      kn.tidy(() => {
        for (let i = 0; i < n; i++) kn.add(x, 1).item();
      }),
    perOp: 1,
    note: 'µs per op',
  };
});
row('1000 tiny adds, one eval', () => {
  const x = kn.array([0.5]).eval();
  const chain = () =>
    kn.tidy(() => {
      let y = x;
      for (let i = 0; i < 1000; i++) y = kn.add(y, 1);
      return y.item();
    });
  return {
    direct: (n) => {
      for (let i = 0; i < n; i++) chain();
    },
    perOp: 1000,
    note: 'µs per op',
  };
});

// ---- run ----
for (const { id, fn } of rows) {
  if (only && !only.has(id)) continue;
  const t0 = now();
  try {
    mark('setup', id);
    const c = fn();
    mark('run', id);
    let r;
    if (c.direct) {
      c.direct(probe ? 1 : 20); // warm-up
      if (probe) r = null;
      else {
        const n = small ? 50 : c.perOp > 1 ? 10 : 1000;
        const s = [];
        for (let i = 0; i < 5; i++) {
          const t = now();
          c.direct(n);
          s.push((now() - t) / n);
        }
        s.sort((a, b) => a - b);
        r = { ms: s[2], iters: n, reps: 5 };
      }
    } else r = timeSteps(c.step);
    emit({
      id,
      ms: r ? r.ms / (c.perOp ?? 1) : null,
      iters: r?.iters,
      bytes: c.bytes,
      flops: c.flops,
      keys: c.keys,
      dtype: c.dtype,
      usPerOp: !!c.perOp,
      note: c.note,
      wallS: (now() - t0) / 1e3,
    });
  } catch (e) {
    emit({
      id,
      error: String(e?.message ?? e)
        .split('\n')[0]
        .slice(0, 200),
      wallS: (now() - t0) / 1e3,
    });
  }
  mark('done', id);
}
