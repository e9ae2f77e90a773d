// kiln's LoRA and DoRA against PyTorch + PEFT (fixture: scripts/peft_fixture.py, run on the GPU
// machine's CPU in float32 with torch 2.11 / transformers 5.17 / peft 0.21): one training step on
// the tiny llama of tests/fixtures/lora/model — the masked loss, every adapter gradient, the
// adapter after SGD — and interchange both ways: adapters saved by peft load in kiln with the
// same logits, and kiln's PEFT exports (kiln_peft_*: kiln's adapter after its own step, and a
// partial adapter with layers_to_transform) give in peft the logits kiln computes. Tolerance 1e-4.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

const L = kn.models.lora;
const DIR = 'tests/fixtures/lora';
const fx = JSON.parse(readFileSync(`${DIR}/fixture.json`, 'utf8'));
const batch = JSON.parse(readFileSync(`${DIR}/batch.json`, 'utf8'));
const TOL = 1e-4;

type Fwd = kn.nn.Module & { forward(t: kn.NDArray): kn.NDArray };
async function base(): Promise<Fwd> {
  return (await kn.models.loadModel(`${DIR}/model`)).model as unknown as Fwd;
}
const logitsOf = (m: Fwd, tokens: number[][]) =>
  Array.from((m as { forward(t: kn.NDArray): kn.NDArray }).forward(kn.array(tokens, 'int32')).toTypedArray() as Float32Array);
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
/** kiln's parameter path + leaf -> PEFT's name, and whether kiln stores it transposed. */
function peftName(path: string): [string, boolean] {
  const m = /^(.*)\.(lora_a|lora_b|m)$/.exec(path)!;
  const leaf = { lora_a: 'lora_A.weight', lora_b: 'lora_B.weight', m: 'lora_magnitude_vector.weight' }[m[2]]!;
  return [`base_model.model.${m[1]}.${leaf}`, m[2] !== 'm'];
}
const values = (a: kn.NDArray) => Array.from(a.astype('float32').toTypedArray() as Float32Array);

describe('base model', () => {
  it('kiln and transformers agree on the fixture llama', async () => {
    expect(maxDiff(logitsOf(await base(), batch.tokens), fx.base_logits)).toBeLessThan(TOL);
  });
});

describe.each(['lora', 'dora'])('%s: one training step equals PEFT', (kind) => {
  const step = kn.loadSafetensors(`${DIR}/${kind}_step.safetensors`).tensors;
  it('loss, every adapter gradient and the updated adapter', async () => {
    const m = await base();
    L.loadPeftAdapter(m, `${DIR}/init_peft_${kind}`);
    m.train();
    const tokens = kn.array(batch.tokens, 'int32');
    const [loss, grads] = kn.nn.valueAndGrad(
      m,
      (mm: kn.nn.Module) => L.lossAndCount(mm as never, tokens, kn.array(batch.lengths), kn.array(batch.offsets))[0],
    )();
    expect(Math.abs((loss.item() as number) - fx[`${kind}_loss`])).toBeLessThan(TOL);
    const flat = kn.tree.flatten<kn.NDArray>(grads);
    expect(flat.length).toBe(Object.keys(step).filter((k) => k.startsWith('grad.')).length);
    let worst = 0;
    for (const [path, g] of flat) {
      const [name, t] = peftName(path);
      const want = step[`grad.${name}`];
      expect(want, name).toBeDefined();
      worst = Math.max(worst, maxDiff(values(t ? kn.swapaxes(g, 0, 1) : g), values(want)));
    }
    expect(worst).toBeLessThan(TOL);
    new kn.optim.SGD(batch.lr).update(m, grads);
    worst = 0;
    for (const [path, p] of kn.tree.flatten<kn.NDArray>(m.trainableParameters())) {
      const [name, t] = peftName(path);
      worst = Math.max(worst, maxDiff(values(t ? kn.swapaxes(p, 0, 1) : p), values(step[`updated.${name}`])));
    }
    expect(worst).toBeLessThan(TOL);
  });
  it("an adapter saved by peft's save_pretrained loads in kiln with PEFT's logits", async () => {
    const m = await base();
    const c = L.loadPeftAdapter(m, `${DIR}/peft_${kind}`);
    expect(c).toMatchObject({ fine_tune_type: kind, num_layers: -1, lora_parameters: { rank: 4, scale: 2 } });
    expect(maxDiff(logitsOf(m, batch.tokens), fx[`${kind}_logits`])).toBeLessThan(TOL);
    // the same folder through kn.models.load's adapterPath
    const { model } = await kn.models.loadModel(`${DIR}/model`, { adapterPath: `${DIR}/peft_${kind}` });
    expect(maxDiff(logitsOf(model as unknown as Fwd, batch.tokens), fx[`${kind}_logits`])).toBeLessThan(TOL);
  });
  it("kiln's PEFT export (its adapter after its own step) gives in peft the logits kiln computes", async () => {
    const m = await base();
    L.loadPeftAdapter(m, `${DIR}/kiln_peft_${kind}`);
    expect(fx[`kiln_${kind}_lora_tensors_in_peft`]).toBe(kind === 'dora' ? 42 : 28);
    expect(maxDiff(logitsOf(m, batch.tokens), fx[`kiln_${kind}_logits_in_peft`])).toBeLessThan(TOL);
    // and kiln's step was PEFT's step: the exported tensors are the torch-updated adapter
    const exported = kn.loadSafetensors(`${DIR}/kiln_peft_${kind}/adapter_model.safetensors`).tensors;
    const step = kn.loadSafetensors(`${DIR}/${kind}_step.safetensors`).tensors;
    let worst = 0;
    for (const [k, v] of Object.entries(exported))
      worst = Math.max(worst, maxDiff(values(v), values(step[`updated.${k.endsWith('vector') ? k + '.weight' : k}`])));
    expect(worst).toBeLessThan(TOL);
  });
});

describe('a partial adapter (last block, q_proj and v_proj, rank 2, scale 3)', () => {
  it("kiln's mlx-layout adapter and its PEFT export (layers_to_transform [1]) give PEFT's logits", async () => {
    expect(fx.kiln_partial_lora_tensors_in_peft).toBe(4);
    const cfg = JSON.parse(readFileSync(`${DIR}/kiln_peft_partial/adapter_config.json`, 'utf8'));
    expect(cfg).toMatchObject({ r: 2, lora_alpha: 6, target_modules: ['q_proj', 'v_proj'], layers_to_transform: [1] });
    const a = await base();
    L.loadAdapters(a, `${DIR}/kiln_partial_mlx`);
    expect(maxDiff(logitsOf(a, batch.tokens), fx.kiln_partial_logits_in_peft)).toBeLessThan(TOL);
    const b = await base();
    expect(L.loadAdapters(b, `${DIR}/kiln_peft_partial`)).toMatchObject({ num_layers: 1, lora_parameters: { rank: 2, scale: 3, keys: ['q_proj', 'v_proj'] } });
    expect(maxDiff(logitsOf(b, batch.tokens), fx.kiln_partial_logits_in_peft)).toBeLessThan(TOL);
    // the adapter changes the logits (so the comparison is not vacuous)
    expect(maxDiff(logitsOf(b, batch.tokens), fx.base_logits)).toBeGreaterThan(1e-3);
  });
  it('bad PEFT folders are errors naming the file and the problem', async () => {
    const { mkdtempSync, writeFileSync, copyFileSync } = await import('node:fs');
    const d = mkdtempSync('/tmp/kiln-peft-bad-');
    copyFileSync(`${DIR}/peft_lora/adapter_model.safetensors`, `${d}/adapter_model.safetensors`);
    writeFileSync(`${d}/adapter_config.json`, JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16 }));
    await expect(async () => L.loadPeftAdapter(await base(), d)).rejects.toThrow(/down_proj.lora_A.weight' has shape \[4, 48\], expected \[8, 48\]/);
    writeFileSync(`${d}/adapter_config.json`, JSON.stringify({ peft_type: 'IA3', r: 8, lora_alpha: 16 }));
    await expect(async () => L.loadPeftAdapter(await base(), d)).rejects.toThrow(/peft_type IA3 is not supported/);
    writeFileSync(`${d}/adapter_config.json`, JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8, use_dora: true }));
    await expect(async () => L.loadPeftAdapter(await base(), d)).rejects.toThrow(/use_dora is set but .* has no lora_magnitude_vector/);
  });
});
