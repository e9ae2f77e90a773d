// LoRA training benchmark: tokens/s and peak memory of kiln's compiled fine-tuning step (rank 8,
// the last 16 blocks, every Linear adapted, Adam) on random-weight models of real shapes
// (models/configs), with and without --grad-checkpoint, over a dense base (--dtype) or a 4-bit one
// (QLoRA: every Linear of the base quantized, group size 64). The first step traces and compiles;
// the median of the later ones is reported. KILN_DEBUG=2 adds the per-kernel time table at exit.
// Run: npx tsx bench/lora.ts [--config tinyllama-1.1b,llama-3.2-1b] [--seq 512] [--batch 1] [--steps 3]
//        [--dtype bfloat16] [--base dense,q4] [--only plain|ckpt]
import { parseArgs } from 'node:util';
import * as kn from '../index.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'tinyllama-1.1b,llama-3.2-1b' },
    seq: { type: 'string', default: '512' },
    batch: { type: 'string', default: '1' },
    steps: { type: 'string', default: '3' },
    layers: { type: 'string', default: '16' },
    dtype: { type: 'string', default: 'bfloat16' },
    only: { type: 'string' },
    base: { type: 'string', default: 'dense' },
  },
});
const seq = +values.seq!,
  batch = +values.batch!,
  steps = +values.steps!,
  layers = +values.layers!;
console.log(`kiln ${kn.info().isa ? JSON.stringify(kn.info().isa) : ''}`);
console.log(
  `LoRA rank 8, last ${layers} blocks, batch ${batch} x seq ${seq}, base weights ${values.dtype}, adapters float32, Adam; median of ${steps - 1} steps after the first`,
);

async function measure(config: string, gradCheckpoint: boolean, base: string) {
  if (base !== 'dense' && base !== 'q4') throw new Error(`--base takes dense or q4, got ${base}`);
  const model = kn.models.modelFromConfig(`models/configs/${config}.json`, { dtype: values.dtype as 'bfloat16', seed: 0 }) as unknown as kn.nn.Module;
  // QLoRA: the base's Linears (not the embedding) become 4-bit layers before the adapters wrap them
  if (base === 'q4') {
    const dense = kn.tree.flatten<kn.NDArray>(model.parameters()).map(([, a]) => a);
    kn.nn.quantize(model, { bits: 4, groupSize: 64, classPredicate: (_p: string, m: kn.nn.Module) => m instanceof kn.nn.Linear });
    const kept = kn.tree.flatten<kn.NDArray>(model.parameters()).map(([, a]) => a);
    kn.eval(kept);
    // the replaced dense weights are garbage, but finalizers run only when the event loop turns
    const live = new Set(kept);
    for (const a of dense) if (!live.has(a)) a.dispose();
  }
  const n = kn.models.lora.applyLoRA(model, { numLayers: layers, loraParameters: { rank: 8, scale: 20 }, key: kn.random.key(0) });
  kn.eval(model.parameters());
  const vocab = (model as unknown as { vocabSize: number }).vocabSize;
  const r = (i: number) => (i * 2654435761) % (vocab - 1);
  const examples = Array.from({ length: batch }, (_, b) => ({ tokens: Array.from({ length: seq }, (_, t) => 1 + r(b * seq + t)), offset: 0 }));
  const times: number[] = [];
  let t = performance.now();
  kn.memory.resetPeak();
  const before = kn.memory.active();
  await kn.models.lora.train(model, new kn.optim.Adam(1e-5), examples, null, {
    batchSize: batch,
    iters: steps,
    gradCheckpoint,
    maxSeqLength: seq,
    stepsPerEval: 0,
    stepsPerReport: 1000,
    adapterPath: null,
    onIteration: () => {
      const now = performance.now();
      times.push(now - t);
      t = now;
    },
  });
  const peak = kn.memory.peak();
  const later = times.slice(1).sort((a, b) => a - b);
  const ms = later.length ? later[Math.floor(later.length / 2)] : times[0];
  const tokens = batch * (seq - 1);
  console.log(
    `${config.padEnd(15)} ${base === 'q4' ? 'QLoRA 4-bit' : `LoRA ${values.dtype}`} ${gradCheckpoint ? 'grad-checkpoint' : 'plain          '} ${n} adapted Linears  first step ${(times[0] / 1000).toFixed(1)} s, then ${(ms / 1000).toFixed(2)} s/step  ${((tokens / ms) * 1000).toFixed(1)} tokens/s  peak ${(peak / 1e9).toFixed(2)} GB (weights ${(before / 1e9).toFixed(2)} GB)`,
  );
  kn.dispose(model.parameters() as never);
}

for (const config of values.config!.split(','))
  for (const base of values.base!.split(','))
    for (const ck of values.only === 'plain' ? [false] : values.only === 'ckpt' ? [true] : [false, true]) await measure(config, ck, base);
