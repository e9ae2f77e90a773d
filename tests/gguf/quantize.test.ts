// kiln's GGUF quantizers against ggml's reference (fixtures/io/ggml_quant_cases.json, from
// quantize_row_*_ref on the same source): Q8_0 and Q4_0 byte for byte; Q4_K and Q6_K (searched
// scales) within a few percent of ggml's reconstruction error.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dequantize, quantize } from '../../ops/io/ggml_quants.js';

const cases = JSON.parse(readFileSync(new URL('../fixtures/io/ggml_quant_cases.json', import.meta.url), 'utf8')) as {
  source: number[];
  types: Record<string, { quantized: string }>;
};
const src = Float32Array.from(cases.source);
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const rmse = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / a.length);

describe('GGUF quantizers', () => {
  it.each(['Q8_0', 'Q4_0'] as const)('%s: the bytes of ggml quantize_row_*_ref', (t) => {
    expect(Buffer.from(quantize(t, src)).toString('hex')).toBe(cases.types[t].quantized);
  });

  it.each([
    ['Q4_K', 1.03],
    ['Q6_K', 1.03],
  ] as const)('%s: reconstruction error within %s x of ggml reference quantizer', (t, factor) => {
    const ours = rmse(dequantize(t, quantize(t, src)), src);
    const ggml = rmse(dequantize(t, hex(cases.types[t].quantized)), src);
    expect(ours).toBeLessThanOrEqual(ggml * factor);
    // and a sane absolute size: a fraction of the values' spread
    expect(ours).toBeLessThan(t === 'Q4_K' ? 0.15 : 0.04);
  });

  it('zero blocks stay zero', () => {
    for (const t of ['Q4_K', 'Q6_K'] as const) expect(Array.from(dequantize(t, quantize(t, new Float32Array(256)))).every((v) => v === 0)).toBe(true);
  });
});
