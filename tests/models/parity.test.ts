// Parity with Hugging Face transformers: tiny random-weight models of each family (written and run
// by scripts/make_parity_fixtures.py on the GPU machine's CPU, torch + transformers 5) loaded with
// kn.models' loader. float32: last-position logits within 1e-4 relative, every position of prompt +
// continuation too, and the same 32 greedy tokens decoded token by token through the KV cache;
// bfloat16 / float16 loads within their tolerance of transformers' own run in that dtype. GGUF:
// each llama-architecture model exported as F32 / F16 / Q8_0, loaded back, against the HF load.
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kn from '../../index.js';
import { loadModel } from '../../models/load.js';
import { makeCache } from '../../models/cache.js';
import { exportGguf } from '../../models/gguf_export.js';
import type { LanguageModel } from '../../models/types.js';

const FIXTURES = new URL('../fixtures/models/', import.meta.url).pathname;
const FAMILIES = ['llama', 'mistral', 'qwen2', 'qwen3', 'phi3'];
const GGUF_FAMILIES = new Set(['llama', 'mistral', 'qwen2', 'qwen3']);
const tmp = mkdtempSync(join(tmpdir(), 'kiln-parity-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Reference {
  prompt: number[];
  rows: number[];
  greedy_f32: number[];
  checks: Record<string, number | boolean>;
}

const floats = (a: kn.Array): Float64Array => a.astype('float64').toTypedArray() as Float64Array;
const ints = (a: kn.Array): number[] => Array.from(a.astype('int32').toTypedArray() as Int32Array);

/** max |a - b| and that over max |ref|: one relative error per comparison. */
function diff(a: Float64Array, ref: Float64Array): { abs: number; rel: number } {
  expect(a.length).toBe(ref.length);
  let d = 0,
    m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return { abs: d, rel: d / m };
}

function argmax(x: Float64Array | Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** logits [L, vocab] of one sequence (a full forward, no cache). */
function forward(model: LanguageModel, ids: number[]): Float64Array {
  return floats(model.forward(kn.array([ids], 'int32')));
}

function rowsOf(all: Float64Array, vocab: number, positions: number[]): Float64Array {
  const out = new Float64Array(positions.length * vocab);
  positions.forEach((p, i) => out.set(all.subarray(p * vocab, (p + 1) * vocab), i * vocab));
  return out;
}

/** Greedy decoding token by token through the family's KV cache (prefill, then one token per step). */
function greedy(model: LanguageModel, prompt: number[], n: number): number[] {
  const cache = makeCache(model);
  let logits = model.forward(kn.array([prompt], 'int32'), { cache });
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const all = floats(logits);
    const t = argmax(all.subarray(all.length - model.vocabSize));
    out.push(t);
    logits = model.forward(kn.array([[t]], 'int32'), { cache });
  }
  return out;
}

/** Measured numbers, printed once at the end for the closing note. */
const table: string[] = [];
afterAll(() => {
  if (table.length) console.log(`parity (max abs / max rel vs transformers):\n${table.join('\n')}`);
});

for (const family of FAMILIES) {
  const dir = join(FIXTURES, family);
  const present = existsSync(join(dir, 'reference.safetensors'));
  describe.skipIf(!present)(`${family} vs transformers`, () => {
    const meta = present ? (JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference) : null!;
    const ref = present ? kn.loadSafetensors(join(dir, 'reference.safetensors')).tensors : {};
    let f32: LanguageModel;

    it('float32: last-position logits within 1e-4 relative, all positions too', async () => {
      f32 = (await loadModel(dir, { progress: false })).model;
      const V = f32.vocabSize;
      const prompt = ints(ref.input_ids);
      expect(prompt).toEqual(meta.prompt);
      const all = forward(f32, prompt);
      const last = diff(all.subarray((prompt.length - 1) * V), floats(ref.last_logits_f32));
      const last64 = diff(all.subarray((prompt.length - 1) * V), floats(ref.last_logits_f64));
      expect(last.rel).toBeLessThan(1e-4);
      const seq = ints(ref.sequence);
      const full = diff(forward(f32, seq), floats(ref.full_logits_f32));
      expect(full.rel).toBeLessThan(1e-4);
      table.push(
        `${family.padEnd(8)} f32 last ${last.abs.toExponential(2)} / ${last.rel.toExponential(2)} (vs f64 ${last64.rel.toExponential(2)}), all ${seq.length} positions ${full.abs.toExponential(2)} / ${full.rel.toExponential(2)}`,
      );
    });

    it('float32: the same 32 greedy tokens, decoded through the KV cache', () => {
      const got = greedy(f32, meta.prompt, meta.greedy_f32.length);
      const same = got.findIndex((t, i) => t !== meta.greedy_f32[i]);
      table.push(`${family.padEnd(8)} greedy ${same < 0 ? `${got.length}/${got.length}` : `first difference at step ${same}`}`);
      expect(got).toEqual(meta.greedy_f32);
      expect(got).toEqual(ints(ref.greedy_f32));
    });

    for (const [dtype, tag, tol] of [
      ['bfloat16', 'bf16', 3e-2],
      ['float16', 'f16', 4e-3],
    ] as const) {
      it(`${dtype}: logits within ${tol} relative of transformers in ${dtype}`, async () => {
        const m = (await loadModel(dir, { dtype, progress: false })).model;
        const all = forward(m, ints(ref.sequence));
        const V = m.vocabSize;
        const rows = diff(rowsOf(all, V, meta.rows), floats(ref[`rows_logits_${tag}`]));
        const last = diff(forward(m, meta.prompt).subarray((meta.prompt.length - 1) * V), floats(ref[`last_logits_${tag}`]));
        // and against float64: our error is of the size of transformers' own in that dtype
        const vs64 = diff(forward(m, meta.prompt).subarray((meta.prompt.length - 1) * V), floats(ref.last_logits_f64));
        table.push(
          `${family.padEnd(8)} ${tag} last ${last.abs.toExponential(2)} / ${last.rel.toExponential(2)}, rows ${rows.rel.toExponential(2)}; vs f64 ours ${vs64.rel.toExponential(2)}, transformers ${Number(meta.checks[`${tag}_vs_f64_last_rel`]).toExponential(2)}`,
        );
        expect(last.rel).toBeLessThan(tol);
        expect(rows.rel).toBeLessThan(tol);
      });
    }

    if (GGUF_FAMILIES.has(family)) {
      for (const [type, tol] of [
        ['F32', 1e-5],
        ['F16', 4e-3],
        ['Q8_0', 3e-2],
      ] as const) {
        it(`GGUF ${type}: export, load back, logits within ${tol} of the HF load and of transformers`, async () => {
          const { model: hf, config } = await loadModel(dir, { progress: false });
          const file = join(tmp, `${family}-${type}.gguf`);
          exportGguf(file, config, new Map(kn.tree.flatten<kn.Array>((hf as unknown as kn.nn.Module).parameters())), { type });
          const g = (await loadModel(file, { dtype: 'float32', progress: false })).model;
          expect(g.modelType).toBe(hf.modelType);
          const seq = ints(ref.sequence);
          const got = forward(g, seq);
          const d = diff(got, forward(hf, seq));
          const dt = diff(got, floats(ref.full_logits_f32));
          const V = g.vocabSize;
          let top1 = 0;
          for (let p = 0; p < seq.length; p++) {
            if (argmax(got.subarray(p * V, (p + 1) * V)) === argmax(floats(ref.full_logits_f32).subarray(p * V, (p + 1) * V))) top1++;
          }
          table.push(
            `${family.padEnd(8)} gguf ${type.padEnd(4)} vs HF load ${d.rel.toExponential(2)}, vs transformers ${dt.rel.toExponential(2)}, top-1 ${top1}/${seq.length}`,
          );
          expect(d.rel).toBeLessThan(tol);
          expect(dt.rel).toBeLessThan(tol + 1e-4);
          if (type !== 'Q8_0') expect(top1).toBe(seq.length);
        });
      }
    }
  });
}

// llama.cpp (node-llama-cpp, bench/llamacpp/make_gguf_fixtures.ts) on the same GGUF bytes kiln's
// exporter writes: raw logits at every position of the fixture sequence.
for (const family of [...GGUF_FAMILIES]) {
  const file = join(FIXTURES, family, 'llamacpp.safetensors');
  describe.skipIf(!existsSync(file))(`${family} GGUF vs llama.cpp`, () => {
    const lc = existsSync(file) ? kn.loadSafetensors(file).tensors : {};
    // llama.cpp keeps its KV cache in F16 by default, so even F32 weights agree only to F16 tolerance
    for (const [type, tol] of [
      ['F32', 3e-3],
      ['F16', 3e-3],
    ] as const) {
      it(`${type}: top-1 agreement at every position and logits within ${tol} relative`, async () => {
        const { model: hf, config } = await loadModel(join(FIXTURES, family), { progress: false });
        const gg = join(tmp, `lc-${family}-${type}.gguf`);
        exportGguf(gg, config, new Map(kn.tree.flatten<kn.Array>((hf as unknown as kn.nn.Module).parameters())), { type });
        const m = (await loadModel(gg, { dtype: 'float32', progress: false })).model;
        const seq = ints(lc.sequence);
        const V = m.vocabSize;
        // llama.cpp's llama architecture has no sliding window: the Mistral model agrees up to it
        const upto = typeof config.sliding_window === 'number' ? Math.min(seq.length, config.sliding_window) : seq.length;
        const ours = forward(m, seq).subarray(0, upto * V);
        const theirs = floats(lc[`logits_${type}`]).subarray(0, upto * V);
        let top1 = 0;
        for (let p = 0; p < upto; p++) if (argmax(ours.subarray(p * V, (p + 1) * V)) === argmax(theirs.subarray(p * V, (p + 1) * V))) top1++;
        const d = diff(ours, theirs);
        table.push(`${family.padEnd(8)} llama.cpp ${type.padEnd(4)} ${d.abs.toExponential(2)} / ${d.rel.toExponential(2)}, top-1 ${top1}/${upto}`);
        expect(top1).toBe(upto);
        expect(d.rel).toBeLessThan(tol);
      });
    }
  });
}

describe('fixtures', () => {
  it('every family has its fixture folder, made by the committed script', () => {
    for (const f of FAMILIES) {
      expect(existsSync(join(FIXTURES, f, 'config.json')), f).toBe(true);
      const meta = JSON.parse(readFileSync(join(FIXTURES, f, 'reference.json'), 'utf8')) as { made_by: string };
      // transformers (the reference) or, where the GPU machine could not be had, the numpy transcription
      expect(['scripts/make_parity_fixtures.py', 'scripts/make_parity_fixtures_numpy.py']).toContain(meta.made_by);
      expect(existsSync(new URL(`../../${meta.made_by}`, import.meta.url).pathname)).toBe(true);
    }
  });
});
