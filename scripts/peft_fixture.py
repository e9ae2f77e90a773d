#!/usr/bin/env python3
"""LoRA / DoRA parity fixture against PyTorch + PEFT (tests/lora/peft_parity.test.ts reads it).

Two stages:

  python3 scripts/peft_fixture.py inputs
      numpy only (run here): seeded float32 weights for the tiny llama of
      tests/fixtures/lora/model/config.json (model.safetensors), the starting adapters as PEFT
      folders (init_peft_lora/, init_peft_dora/: lora_A [r, in] and lora_B [out, r], both non-zero
      so every gradient is non-zero; DoRA's magnitude = row norms of W + (alpha/r)·B·A) and the
      token batch (batch.json).

  (then scripts/peft_fixture_kiln.ts: kiln takes the same SGD step and exports its adapters as
  PEFT folders, tests/fixtures/lora/kiln_peft_lora/ and kiln_peft_dora/)

  python3 scripts/peft_fixture.py torch OUT
      transformers + peft (run on the GPU machine's CPU, float32, no TF32): for LoRA and for DoRA,
      the masked next-token loss of the batch, the adapter gradients and the adapter after one SGD
      step (lr 0.5); the adapters as peft's save_pretrained writes them (before the step); and,
      when kiln's own PEFT export is present (tests/fixtures/lora/kiln_peft_*: kiln's adapter after
      kiln's step), the logits peft computes after loading it.

Loss (mlx-lm's): logits of tokens[:, :-1] against tokens[:, 1:], summed cross-entropy over the
target positions t (1-based in the full row) with offset <= t < length, divided by their count.
"""
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fixtures', 'lora')
TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
RANK, ALPHA, LR = 4, 8, 0.5


def save_safetensors(path, tensors, metadata=None):
    header, off, blobs = {}, 0, []
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k], dtype=np.float32)
        b = a.tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    if metadata:
        header['__metadata__'] = metadata
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        assert v['dtype'] == 'F32', (k, v['dtype'])
        s, e = v['data_offsets']
        out[k] = np.frombuffer(data[s:e], dtype=np.float32).reshape(v['shape']).copy()
    return out


def linear_shapes(cfg):
    h, i, hd = cfg['hidden_size'], cfg['intermediate_size'], cfg['head_dim']
    q, kv = cfg['num_attention_heads'] * hd, cfg['num_key_value_heads'] * hd
    return {'q_proj': (q, h), 'k_proj': (kv, h), 'v_proj': (kv, h), 'o_proj': (h, q), 'gate_proj': (i, h), 'up_proj': (i, h), 'down_proj': (h, i)}


def module_path(layer, name):
    return f'model.layers.{layer}.{"self_attn" if name.endswith(("q_proj", "k_proj", "v_proj", "o_proj")) else "mlp"}.{name}'


def make_inputs():
    cfg = json.load(open(os.path.join(HERE, 'model', 'config.json')))
    rng = np.random.default_rng(1234)
    h, v = cfg['hidden_size'], cfg['vocab_size']
    w = {'model.embed_tokens.weight': rng.standard_normal((v, h)) * 0.5, 'lm_head.weight': rng.standard_normal((v, h)) * (1 / np.sqrt(h)),
         'model.norm.weight': 1 + 0.1 * rng.standard_normal(h)}
    shapes = linear_shapes(cfg)
    for l in range(cfg['num_hidden_layers']):
        w[f'model.layers.{l}.input_layernorm.weight'] = 1 + 0.1 * rng.standard_normal(h)
        w[f'model.layers.{l}.post_attention_layernorm.weight'] = 1 + 0.1 * rng.standard_normal(h)
        for name in TARGETS:
            o, i = shapes[name]
            w[f'{module_path(l, name)}.weight'] = rng.standard_normal((o, i)) * (1 / np.sqrt(i))
    save_safetensors(os.path.join(HERE, 'model', 'model.safetensors'), w, {'format': 'pt'})
    ad = {}
    for l in range(cfg['num_hidden_layers']):
        for name in TARGETS:
            o, i = shapes[name]
            p = f'base_model.model.{module_path(l, name)}'
            ad[f'{p}.lora_A.weight'] = rng.standard_normal((RANK, i)) * (1 / np.sqrt(i))
            ad[f'{p}.lora_B.weight'] = rng.standard_normal((o, RANK)) * 0.05
    scaling = ALPHA / RANK
    for kind in ['lora', 'dora']:
        d = os.path.join(HERE, f'init_peft_{kind}')
        os.makedirs(d, exist_ok=True)
        t = dict(ad)
        if kind == 'dora':  # DoRA's magnitude starts as the row norms of the adapted weight
            for l in range(cfg['num_hidden_layers']):
                for name in TARGETS:
                    p = module_path(l, name)
                    wd = w[f'{p}.weight'] + scaling * ad[f'base_model.model.{p}.lora_B.weight'] @ ad[f'base_model.model.{p}.lora_A.weight']
                    t[f'base_model.model.{p}.lora_magnitude_vector'] = np.linalg.norm(wd, axis=1)
        save_safetensors(os.path.join(d, 'adapter_model.safetensors'), t, {'format': 'pt'})
        json.dump({'peft_type': 'LORA', 'task_type': 'CAUSAL_LM', 'r': RANK, 'lora_alpha': ALPHA, 'lora_dropout': 0.0, 'target_modules': TARGETS,
                   'use_dora': kind == 'dora', 'bias': 'none', 'base_model_name_or_path': None}, open(os.path.join(d, 'adapter_config.json'), 'w'), indent=1)
    tokens = rng.integers(3, v, size=(2, 10)).tolist()
    lengths, offsets = [10, 7], [3, 0]
    for t in range(lengths[1], 10):
        tokens[1][t] = 0  # padding
    json.dump({'tokens': tokens, 'lengths': lengths, 'offsets': offsets, 'rank': RANK, 'alpha': ALPHA, 'lr': LR, 'targets': TARGETS},
              open(os.path.join(HERE, 'batch.json'), 'w'), indent=1)
    print('wrote inputs to', HERE)


def run_torch(out):
    import peft
    import torch
    import transformers
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import LlamaForCausalLM

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    batch = json.load(open(os.path.join(HERE, 'batch.json')))
    tokens = torch.tensor(batch['tokens'])
    T = tokens.shape[1]
    steps = torch.arange(1, T)[None, :]
    mask = (steps >= torch.tensor(batch['offsets'])[:, None]) & (steps < torch.tensor(batch['lengths'])[:, None])

    def base():
        return LlamaForCausalLM.from_pretrained(os.path.join(HERE, 'model'), dtype=torch.float32, attn_implementation='eager').eval()

    def loss_of(m):
        logits = m(input_ids=tokens[:, :-1]).logits
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1), reduction='none').reshape(mask.shape)
        return (ce * mask).sum() / mask.sum()

    result = {'versions': {'torch': torch.__version__, 'transformers': transformers.__version__, 'peft': peft.__version__}, 'mask': mask.int().tolist()}
    with torch.no_grad():
        result['base_logits'] = base()(input_ids=tokens).logits.reshape(-1).tolist()
    for kind in ['lora', 'dora']:
        cfg = LoraConfig(r=batch['rank'], lora_alpha=batch['alpha'], target_modules=batch['targets'], lora_dropout=0.0, bias='none', use_dora=kind == 'dora')
        m = get_peft_model(base(), cfg)
        named = dict(m.named_parameters())
        init = load_safetensors(os.path.join(HERE, f'init_peft_{kind}', 'adapter_model.safetensors'))
        with torch.no_grad():
            for k, v in init.items():
                k = k + '.weight' if k.endswith('lora_magnitude_vector') else k
                named[k.replace('.weight', '.default.weight')].copy_(torch.tensor(v))
        m.save_pretrained(os.path.join(out, f'peft_{kind}'))
        readme = os.path.join(out, f'peft_{kind}', 'README.md')  # peft's model card: not part of the fixture
        if os.path.exists(readme):
            os.remove(readme)
        with torch.no_grad():
            result[f'{kind}_logits'] = m(input_ids=tokens).logits.reshape(-1).tolist()
        loss = loss_of(m)
        loss.backward()
        step = {}
        for k, p in m.named_parameters():
            if p.requires_grad:
                name = k.replace('.default', '')
                step[f'grad.{name}'] = p.grad.detach().numpy()
                step[f'updated.{name}'] = (p.detach() - batch['lr'] * p.grad).numpy()
                step[f'start.{name}'] = p.detach().numpy()
        save_safetensors(os.path.join(out, f'{kind}_step.safetensors'), step)
        result[f'{kind}_loss'] = loss.item()
        print(kind, 'loss', loss.item(), 'trainable tensors', sum(1 for k in step if k.startswith('grad.')))
    for name in sorted(os.listdir(HERE)):  # kiln's exports: kiln_peft_lora, kiln_peft_dora, kiln_peft_partial
        if not name.startswith('kiln_peft_'):
            continue
        tag = name[len('kiln_peft_'):]
        try:
            km = PeftModel.from_pretrained(base(), os.path.join(HERE, name)).eval()
            n = sum(1 for k, _ in km.named_parameters() if 'lora_' in k)
            with torch.no_grad():
                result[f'kiln_{tag}_logits_in_peft'] = km(input_ids=tokens).logits.reshape(-1).tolist()
            result[f'kiln_{tag}_lora_tensors_in_peft'] = n
            print('kiln export', tag, 'loaded:', n, 'lora tensors')
        except Exception as e:  # recorded so one call still brings the rest back
            result[f'kiln_{tag}_error'] = repr(e)
            print('kiln export', tag, 'failed:', repr(e))
    json.dump(result, open(os.path.join(out, 'fixture.json'), 'w'))


if __name__ == '__main__':
    if sys.argv[1] == 'inputs':
        make_inputs()
    else:
        run_torch(sys.argv[2])
