// Random GGUF quantized rows for the kernel tests: random bytes with sane float16 scale fields (one
// all-zero scale per row, some negative), in each type's block layout (ops/io/ggml_quants.ts).
import { f32ToF16, GGML_BY_NAME, type GgmlTypeName } from '../../ops/io/ggml_quants.js';

/** byte offsets of each type's float16 fields (d, then dmin/m) */
export const F16_FIELDS: Record<string, number[]> = {
  Q4_0: [0],
  Q4_1: [0, 2],
  Q5_0: [0],
  Q5_1: [0, 2],
  Q8_0: [0],
  Q2_K: [80, 82],
  Q3_K: [108],
  Q4_K: [0, 2],
  Q5_K: [0, 2],
  Q6_K: [208],
};

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) / (1 << 24);
  };
}

/** rows x K values of `type` as block bytes [rows * rowBytes]; `scale` multiplies the float16 scales */
export function randomBlocks(type: GgmlTypeName, rows: number, K: number, seed = 1, scale = 1): Uint8Array {
  const t = GGML_BY_NAME.get(type)!;
  const r = rng(seed);
  const nb = (rows * K) / t.blockSize;
  const b = new Uint8Array(nb * t.typeSize);
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
  for (let i = 0; i < nb; i++)
    F16_FIELDS[type].forEach((off, k) => {
      const v = i === 1 ? 0 : scale * (0.002 + 0.05 * r()) * (k === 0 && i % 3 === 2 ? -1 : 1);
      const h = f32ToF16(v);
      b[i * t.typeSize + off] = h & 0xff;
      b[i * t.typeSize + off + 1] = h >> 8;
    });
  return b;
}
