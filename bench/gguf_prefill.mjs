// GGUF block products at prefill sizes (backends/cpu/kernels/quantized_gguf.cc: the tiled GEMM of
// quantized_gguf_gemm.h from 8 activation rows, the row dots below): x [M, K] @ dequant(W [N, K])^T
// for every native block type against float32 matmul on the same shape in the same run, as
// GOP/s (2 M N K per call) and as a ratio. llama.cpp on whole models: bench/llm_cpu.mjs.
//
//   nice node --import tsx bench/gguf_prefill.mjs [--types Q4_0,Q8_0,Q4_K,Q6_K] [--m 1,8,64,256] [--shape 2048x5632]
import { bestMs, listArg } from './lib/timing.mjs';

const kn = await import('../index.ts');
const { randomBlocks } = await import('../tests/gguf/blocks.ts');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const TYPES = listArg('types').length ? listArg('types') : ['Q4_0', 'Q8_0', 'Q4_K', 'Q6_K'];
const MS = listArg('m').length ? listArg('m').map(Number) : [1, 4, 8, 16, 64, 256];
const [K, N] = arg('shape', '2048x5632').split('x').map(Number);

console.log(`kiln ISA ${kn.info().isa.level} (avx512vnni ${kn.info().isa.cpu?.avx512vnni ?? '?'}), ${kn.info().threads} threads; K=${K} N=${N}`);
const f32 = kn.random.normal([N, K]);
f32.eval();
const rows = [];
for (const m of MS) {
  const x = kn.random.normal([m, K]);
  x.eval();
  const gop = (2 * m * N * K) / 1e9;
  const fms = bestMs(() => kn.matmul(x, f32.T).eval(), 5);
  const row = { M: m, float32: `${(gop / (fms / 1000)).toFixed(0)}` };
  for (const t of TYPES) {
    const w = kn.array(randomBlocks(t, N, K, 1), 'uint8').reshape([N, -1]);
    w.eval();
    const ms = bestMs(() => kn.ggufMatmul(x, w, t).eval(), 5);
    row[t] = `${(gop / (ms / 1000)).toFixed(0)} (${(fms / ms).toFixed(2)}x)`;
    w.dispose();
  }
  rows.push(row);
  x.dispose();
}
console.log('GOP/s (ratio to float32 matmul on the same shape)');
console.table(rows);
