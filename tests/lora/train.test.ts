// The trainer: the loss falls, the compiled step equals the eager one, a run resumed from a
// checkpoint ends bit-identical to an uninterrupted one (optimizer state and data order restored),
// gradient accumulation equals one big batch, memory stays flat over many steps, and
// --grad-checkpoint lowers the measured peak (eager, and compiled with unchanged gradients).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

const L = kn.models.lora;
const tmp = mkdtempSync(join(tmpdir(), 'kiln-lora-train-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CONFIG = {
  model_type: 'llama',
  hidden_size: 32,
  num_hidden_layers: 2,
  intermediate_size: 48,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 40,
};
function model(opts: { dropout?: number; type?: 'lora' | 'dora' } = {}) {
  const m = kn.models.modelFromConfig(CONFIG, { seed: 3 }) as unknown as kn.nn.Module;
  L.applyLoRA(m, { fineTuneType: opts.type ?? 'lora', numLayers: 2, loraParameters: { rank: 4, scale: 2, dropout: opts.dropout ?? 0 }, key: kn.random.key(1) });
  kn.eval(m.parameters());
  return m;
}
// a learnable toy language: each row counts up from a start token (mod 37)
const data = Array.from({ length: 24 }, (_, i) => ({ tokens: Array.from({ length: 6 + (i % 7) }, (_, t) => 3 + ((i * 5 + t) % 37)), offset: i % 2 }));
const adapter = (m: kn.nn.Module) => kn.tree.flatten<kn.NDArray>(m.trainableParameters()).map(([k, v]) => [k, Array.from(v.toTypedArray() as Float32Array)]);
const schedule = () => kn.optim.joinSchedules([kn.optim.linearSchedule(0, 1e-2, 3), kn.optim.cosineDecay(1e-2, 9)], [3]);

describe('train', () => {
  it('the loss falls and the compiled step gives the same adapter as the eager one', async () => {
    const runs = [];
    for (const eager of [false, true]) {
      const m = model({ dropout: 0.1 });
      const val: number[] = [];
      const r = await L.train(m, new kn.optim.Adam(schedule()), data, data, {
        batchSize: 4,
        iters: 8,
        eager,
        stepsPerEval: 8,
        adapterPath: null,
        onEval: (e) => val.push(e.valLoss),
      });
      expect(r.iterations).toBe(8);
      expect(val[1]).toBeLessThan(val[0] - 0.3);
      runs.push(adapter(m));
    }
    const [c, e] = runs;
    let d = 0;
    c.forEach(([, a], i) => (a as number[]).forEach((x, j) => (d = Math.max(d, Math.abs(x - (e[i][1] as number[])[j])))));
    expect(d).toBeLessThan(1e-5);
  });

  it('a resumed run ends bit-identical to an uninterrupted one', async () => {
    const opts = { batchSize: 4, iters: 10, stepsPerEval: 0, saveEvery: 4, seed: 7 };
    const full = model({ dropout: 0.1, type: 'dora' });
    await L.train(full, new kn.optim.AdamW(schedule()), data, null, { ...opts, adapterPath: join(tmp, 'full') });

    // stop after 4 iterations (as Ctrl-C would), then resume from the checkpoint in a fresh model
    const a = model({ dropout: 0.1, type: 'dora' });
    let n = 0;
    const r1 = await L.train(a, new kn.optim.AdamW(schedule()), data, null, {
      ...opts,
      adapterPath: join(tmp, 'part'),
      onIteration: () => n++,
      shouldStop: () => n === 4,
    });
    expect(r1).toMatchObject({ stopped: true, iterations: 4 });
    const b = model({ dropout: 0.1, type: 'dora' });
    const opt = new kn.optim.AdamW(schedule());
    const st = L.resumeFrom(b, opt, join(tmp, 'part', '0000004_adapters.safetensors'));
    expect(st).toMatchObject({ iteration: 4, optimizer: true });
    await L.train(b, opt, data, null, { ...opts, adapterPath: join(tmp, 'part'), startIteration: st.iteration, trainedTokens: st.trainedTokens });
    expect(readFileSync(join(tmp, 'part', 'adapters.safetensors')).equals(readFileSync(join(tmp, 'full', 'adapters.safetensors')))).toBe(true);
    expect(adapter(b)).toEqual(adapter(full));
  });

  it('gradient accumulation over 2 micro-batches updates like their averaged gradients', async () => {
    // every example has the same length and mask, so two batches of 2 average to one batch of 4
    const same = Array.from({ length: 8 }, (_, i) => ({ tokens: Array.from({ length: 8 }, (_, t) => 3 + ((i * 3 + t) % 37)), offset: 0 }));
    const acc = model();
    await L.train(acc, new kn.optim.SGD(0.5), same, null, { batchSize: 2, iters: 1, gradAccumulationSteps: 2, stepsPerEval: 0, adapterPath: null, seed: 1 });
    // the same two micro-batches by hand
    const ref = model();
    const plan = L.planBatches(same, 2, 2048);
    const grads = [0, 1].map((k) => {
      const b = L.makeBatch(same, plan.batches[L.batchIndexAt(k, plan.batches.length, 1)], 2048);
      const t = kn.array(b.tokens, 'int32').reshape(b.shape);
      return kn.nn.valueAndGrad(ref, (mm: kn.nn.Module) => L.lossAndCount(mm as never, t, kn.array(b.lengths), kn.array(b.offsets))[0])()[1];
    });
    new kn.optim.SGD(0.5).update(
      ref,
      kn.tree.map((x: kn.NDArray, y: kn.NDArray) => kn.divide(kn.add(x, y), 2), grads[0], grads[1]),
    );
    const [p, q] = [adapter(acc), adapter(ref)];
    let d = 0;
    p.forEach(([, a], i) => (a as number[]).forEach((x, j) => (d = Math.max(d, Math.abs(x - (q[i][1] as number[])[j])))));
    expect(d).toBeLessThan(1e-6);
  });

  it('memory stays flat over 1,000 steps', async () => {
    const m = model({ dropout: 0.1 });
    const seen: number[] = [];
    const peaks: number[] = [];
    await L.train(m, new kn.optim.Adam(1e-3), data, null, {
      batchSize: 4,
      iters: 1000,
      stepsPerEval: 0,
      adapterPath: null,
      onIteration: (it) => {
        if (it % 100 === 0) {
          seen.push(kn.memory.active());
          peaks.push(kn.memory.peak());
          kn.memory.resetPeak();
        }
      },
    });
    expect(seen).toHaveLength(10);
    // after warm-up no later reading is higher, and no stretch of 100 steps peaks higher. (Readings
    // may drop: arrays the earlier tests of this file dropped are freed whenever GC runs.)
    expect(Math.max(...seen.slice(1))).toBeLessThanOrEqual(seen[1]);
    expect(Math.max(...peaks.slice(2))).toBeLessThanOrEqual(peaks[1]);
  });

  it('--grad-checkpoint lowers the peak memory of a step', async () => {
    const long = Array.from({ length: 4 }, (_, i) => ({ tokens: Array.from({ length: 256 }, (_, t) => 3 + ((i + t) % 37)), offset: 0 }));
    const peak = async (gradCheckpoint: boolean) => {
      const m = model();
      await L.train(m, new kn.optim.Adam(1e-3), long, null, { batchSize: 4, iters: 1, stepsPerEval: 0, adapterPath: null, gradCheckpoint, eager: true });
      kn.memory.resetPeak();
      const before = kn.memory.active();
      await L.train(m, new kn.optim.Adam(1e-3), long, null, { batchSize: 4, iters: 1, stepsPerEval: 0, adapterPath: null, gradCheckpoint, eager: true });
      return kn.memory.peak() - before;
    };
    const plain = await peak(false);
    const ckpt = await peak(true);
    console.log(`peak memory of a training step: ${plain} bytes plain, ${ckpt} bytes with grad checkpointing`);
    expect(ckpt).toBeLessThan(plain * 0.8);
  });

  it('--grad-checkpoint lowers the peak of the compiled step and gives the same gradients', () => {
    // deep and narrow, so the per-layer activations dominate the step's memory
    const deep = { ...CONFIG, hidden_size: 64, num_hidden_layers: 6, intermediate_size: 192 };
    const t = kn
      .array(
        Array.from({ length: 4 * 128 }, (_, i) => 3 + ((i * 7) % 37)),
        'int32',
      )
      .reshape([4, 128]);
    const len = kn.array([128, 128, 128, 128], 'int32'),
      off = kn.array([0, 0, 0, 0], 'int32');
    const run = (gradCheckpoint: boolean) => {
      const m = kn.models.modelFromConfig(deep, { seed: 3 }) as unknown as kn.nn.Module;
      L.applyLoRA(m, { numLayers: 6, loraParameters: { rank: 4, scale: 2 }, key: kn.random.key(1) });
      kn.eval(m.parameters());
      const undo = gradCheckpoint ? L.enableGradCheckpoint(m) : null;
      const vg = kn.nn.valueAndGrad(m, (mm: kn.nn.Module) => L.lossAndCount(mm as never, t, len, off)[0]);
      const step = kn.compile(() => vg(), { inputs: [m] });
      kn.dispose(step() as never); // trace and record
      kn.memory.resetPeak();
      const before = kn.memory.active();
      const [loss, grads] = step() as [kn.NDArray, unknown];
      kn.eval(loss, grads as never);
      const peak = kn.memory.peak() - before;
      undo?.();
      expect(step.info.traces).toBe(1);
      return {
        peak,
        loss: loss.item() as number,
        grads: kn.tree.flatten<kn.NDArray>(grads).map(([k, g]) => [k, Array.from(g.toTypedArray() as Float32Array)] as const),
      };
    };
    const plain = run(false),
      ckpt = run(true);
    console.log(`peak memory of a compiled step (6 layers, hidden 64, 4 x 128 tokens): ${plain.peak} bytes plain, ${ckpt.peak} bytes with grad checkpointing`);
    // recomputed, not merged back into the forward pass: well under half the plain step's peak
    expect(ckpt.peak).toBeLessThan(plain.peak * 0.5);
    expect(ckpt.loss).toBeCloseTo(plain.loss, 6);
    expect(ckpt.grads.map(([k]) => k)).toEqual(plain.grads.map(([k]) => k));
    expect(plain.grads.length).toBe(6 * 7 * 2);
    let d = 0,
      scale = 0;
    plain.grads.forEach(([, g], i) =>
      g.forEach((x, j) => {
        d = Math.max(d, Math.abs(x - ckpt.grads[i][1][j]));
        scale = Math.max(scale, Math.abs(x));
      }),
    );
    expect(scale).toBeGreaterThan(0);
    expect(d).toBeLessThanOrEqual(1e-5 * scale);
  });
});
