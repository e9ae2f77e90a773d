// kiln's half of the PEFT parity fixture (scripts/peft_fixture.py explains the whole): loads the
// starting PEFT adapters (init_peft_lora/, init_peft_dora/) onto the fixture llama, takes kiln's
// own SGD step (lr from batch.json) on the fixture batch and exports the result as PEFT folders
// kiln_peft_lora/ and kiln_peft_dora/, which the torch stage loads with peft.
//   npx tsx scripts/peft_fixture_kiln.ts
import { readFileSync } from 'node:fs';
import * as kn from '../index.js';

const dir = 'tests/fixtures/lora';
const batch = JSON.parse(readFileSync(`${dir}/batch.json`, 'utf8'));
for (const kind of ['lora', 'dora']) {
  const { model } = await kn.models.loadModel(`${dir}/model`);
  kn.models.lora.loadPeftAdapter(model as unknown as kn.nn.Module, `${dir}/init_peft_${kind}`);
  const m = model as unknown as kn.nn.Module;
  const tokens = kn.array(batch.tokens, 'int32'),
    lengths = kn.array(batch.lengths, 'int32'),
    offsets = kn.array(batch.offsets, 'int32');
  const lossAndGrad = kn.nn.valueAndGrad(m, (mm: kn.nn.Module) => kn.models.lora.lossAndCount(mm as never, tokens, lengths, offsets)[0]);
  const [loss, grads] = lossAndGrad(m);
  const opt = new kn.optim.SGD(batch.lr);
  opt.update(m, grads);
  kn.eval(m.parameters());
  kn.models.lora.exportPeft(m, `${dir}/kiln_peft_${kind}`, { baseModel: 'tests/fixtures/lora/model' });
  console.log(kind, 'loss', loss.item());
}

// an adapter on part of the model (the last block's q_proj and v_proj, rank 2, scale 3) with
// random lora_b, exported with layers_to_transform
{
  const { model } = await kn.models.loadModel(`${dir}/model`);
  const m = model as unknown as kn.nn.Module;
  kn.models.lora.applyLoRA(m, { numLayers: 1, loraParameters: { rank: 2, scale: 3, keys: ['q_proj', 'v_proj'] }, key: kn.random.key(7) });
  let k = kn.random.key(8);
  for (const [, l] of kn.models.lora.loraLayers(m)) {
    const [a, b] = kn.unstack(kn.random.split(k, 2));
    k = a;
    l.lora_b = kn.multiply(kn.random.normal(l.lora_b.shape, { key: b }), 0.1);
  }
  kn.eval(m.parameters());
  kn.models.lora.exportPeft(m, `${dir}/kiln_peft_partial`, { baseModel: 'tests/fixtures/lora/model' });
  kn.models.lora.saveAdapters(m, `${dir}/kiln_partial_mlx`, {
    fine_tune_type: 'lora',
    num_layers: 1,
    lora_parameters: { rank: 2, scale: 3, dropout: 0, keys: ['q_proj', 'v_proj'] },
  });
  console.log('partial exported');
}
