#!/usr/bin/env python3
"""Reference outputs of tiny random-weight models of each family, computed with transformers.

Run on the GPU machine (torch + transformers 5; everything here runs on its CPU, in float64,
float32, bfloat16 and float16):

    python3 scripts/make_parity_fixtures.py OUT_DIR

For each family it writes OUT_DIR/<family>/:
  config.json            a Hugging Face config in the usual hub form (rope_theta / rope_scaling),
                         reloaded by transformers itself to check it means what we intend
  model.safetensors      float32 weights (save_pretrained; tied lm_head left out)
  generation_config.json as save_pretrained writes it
  reference.safetensors  input_ids, last_logits_{f64,f32,bf16,f16}, full_logits_f32 (every
                         position of prompt + greedy continuation), rows_logits_{bf16,f16}
                         (positions listed in `rows`), greedy_f32 / greedy_bf16 (32 tokens)
  reference.json         the same token ids, versions and the checks made here

The weights are not HF's default N(0, 0.02) init: that makes logits nearly flat, so greedy
choices would hang on ties. Linear weights ~ N(0, 1/fan_in), embeddings ~ N(0, 1) (N(0, 1/16) when
tied), norm weights ~ 1 + N(0, 0.1^2) and biases ~ N(0, 0.1^2) give logits with a spread of a few units.
"""
import copy
import json
import os
import shutil
import sys
import tempfile
import traceback

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModelForCausalLM

PROMPT = [1, 17, 300, 42, 511, 7, 128, 256, 64, 99, 3, 450]
NEW_TOKENS = 32
ROW_POSITIONS = [0, 5, len(PROMPT) - 1, len(PROMPT) + 7, len(PROMPT) + NEW_TOKENS - 1]

COMMON = dict(
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=512,
    intermediate_size=128,
    hidden_act="silu",
    max_position_embeddings=128,
    initializer_range=0.02,
    bos_token_id=1,
    eos_token_id=2,
    use_cache=True,
    torch_dtype="float32",
)

FAMILIES = {
    # Llama 3.1-style: llama3 rope scaling (original context 32 so every kind of band occurs at
    # head_dim 16: kept, smoothed and scaled frequencies) and tied embeddings.
    "llama": dict(
        COMMON,
        architectures=["LlamaForCausalLM"],
        model_type="llama",
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                          original_max_position_embeddings=32),
        attention_bias=False,
        mlp_bias=False,
        tie_word_embeddings=True,
        seed=1,
    ),
    # sliding window 8: the 12-token prompt and the continuation both run past it
    "mistral": dict(
        COMMON,
        architectures=["MistralForCausalLM"],
        model_type="mistral",
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        sliding_window=8,
        tie_word_embeddings=False,
        seed=2,
    ),
    "qwen2": dict(
        COMMON,
        architectures=["Qwen2ForCausalLM"],
        model_type="qwen2",
        rms_norm_eps=1e-6,
        rope_theta=1000000.0,
        use_sliding_window=False,
        sliding_window=None,
        max_window_layers=2,
        tie_word_embeddings=False,
        seed=3,
    ),
    # explicit head_dim (32) different from hidden/heads (16), per-head q/k RMSNorm
    "qwen3": dict(
        COMMON,
        architectures=["Qwen3ForCausalLM"],
        model_type="qwen3",
        head_dim=32,
        rms_norm_eps=1e-6,
        rope_theta=1000000.0,
        attention_bias=False,
        use_sliding_window=False,
        sliding_window=None,
        max_window_layers=2,
        tie_word_embeddings=False,
        seed=4,
    ),
    # fused qkv_proj and gate_up_proj
    "phi3": dict(
        COMMON,
        architectures=["Phi3ForCausalLM"],
        model_type="phi3",
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        rope_scaling=None,
        original_max_position_embeddings=128,
        sliding_window=None,
        pad_token_id=0,
        eos_token_id=2,
        tie_word_embeddings=False,
        seed=5,
    ),
}


def init_weights(model, seed):
    g = torch.Generator().manual_seed(seed)
    tied = bool(model.config.tie_word_embeddings)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                v = 1.0 + 0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64)
            elif name.endswith(".bias"):
                v = 0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64)
            elif "embed_tokens" in name:
                # tied: a unit-scale embedding would make every token predict itself
                v = torch.randn(p.shape, generator=g, dtype=torch.float64) * (0.25 if tied else 1.0)
            elif p.ndim == 2:
                v = torch.randn(p.shape, generator=g, dtype=torch.float64) / (p.shape[1] ** 0.5)
                if "lm_head" in name:
                    v = v * 2.0
            else:
                raise RuntimeError(f"unexpected parameter {name} {tuple(p.shape)}")
            p.copy_(v.to(p.dtype))


def logits_of(model, ids):
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids]), use_cache=False).logits[0]


def greedy_manual(model, prompt, n):
    """Greedy decoding with a full forward per step (no cache): the plainest definition."""
    ids = list(prompt)
    for _ in range(n):
        ids.append(int(logits_of(model, ids)[-1].argmax()))
    return ids[len(prompt):]


def greedy_generate(model, prompt, n):
    gc = copy.deepcopy(model.generation_config)
    gc.do_sample = False
    gc.max_new_tokens = n
    gc.min_new_tokens = None
    gc.eos_token_id = None  # never stop early
    gc.pad_token_id = 0
    gc.temperature = None
    gc.top_p = None
    gc.top_k = None
    with torch.no_grad():
        out = model.generate(input_ids=torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                             generation_config=gc)
    return [int(t) for t in out[0, len(prompt):]]


def rel(a, b):
    a = a.double()
    b = b.double()
    return float((a - b).abs().max() / b.abs().max())


def load_pretrained(folder, dtype):
    try:
        return AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", dtype=dtype)
    except TypeError:
        return AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", torch_dtype=dtype)


def make_family(name, spec, out_root, log):
    spec = dict(spec)
    seed = spec.pop("seed")
    folder = os.path.join(out_root, name)
    os.makedirs(folder, exist_ok=True)
    cfg_json = {k: v for k, v in spec.items()}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg_json, f, indent=2, sort_keys=True)
        f.write("\n")

    torch.manual_seed(seed)
    config = AutoConfig.from_pretrained(folder)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager").float().eval()
    init_weights(model, seed)
    log.write(f"== {name}: {type(model).__name__}, {sum(p.numel() for p in model.parameters())} parameters\n")
    log.write(f"   config as transformers reads it: {json.dumps(model.config.to_dict(), sort_keys=True, default=str)}\n")

    tmp = tempfile.mkdtemp()
    model.save_pretrained(tmp)
    log.write(f"   save_pretrained wrote: {sorted(os.listdir(tmp))}\n")
    shutil.copy(os.path.join(tmp, "model.safetensors"), os.path.join(folder, "model.safetensors"))
    if os.path.exists(os.path.join(tmp, "generation_config.json")):
        shutil.copy(os.path.join(tmp, "generation_config.json"), os.path.join(folder, "generation_config.json"))
    shutil.rmtree(tmp)

    # the committed folder (our config.json + saved weights), reloaded by transformers, is the reference
    ref = load_pretrained(folder, torch.float32).eval()
    checks = {}
    checks["reload_equals_built_model"] = rel(logits_of(ref, PROMPT), logits_of(model, PROMPT))

    greedy = greedy_manual(ref, PROMPT, NEW_TOKENS)
    try:
        gen = greedy_generate(ref, PROMPT, NEW_TOKENS)
    except Exception as e:  # keep the fixture even if generate's API moved
        gen = None
        log.write(f"   generate failed: {e!r}\n")
    checks["generate_matches_manual_greedy"] = gen == greedy
    seq = PROMPT + greedy

    full32 = logits_of(ref, seq)
    last32 = logits_of(ref, PROMPT)[-1]
    m64 = copy.deepcopy(ref).double()
    last64 = logits_of(m64, PROMPT)[-1]
    full64 = logits_of(m64, seq)
    checks["f32_vs_f64_last_rel"] = rel(last32, last64)
    checks["f32_vs_f64_full_rel"] = rel(full32, full64)
    checks["f32_full_prefix_equals_prompt_last_rel"] = rel(full32[len(PROMPT) - 1], last32)

    tensors = {
        "input_ids": torch.tensor(PROMPT, dtype=torch.int32),
        "sequence": torch.tensor(seq, dtype=torch.int32),
        "rows": torch.tensor(ROW_POSITIONS, dtype=torch.int32),
        "last_logits_f64": last64.contiguous(),
        "last_logits_f32": last32.float().contiguous(),
        "full_logits_f32": full32.float().contiguous(),
        "greedy_f32": torch.tensor(greedy, dtype=torch.int32),
    }
    lowp = {}
    for tag, dt in (("bf16", torch.bfloat16), ("f16", torch.float16)):
        mlow = load_pretrained(folder, dt).eval()
        last = logits_of(mlow, PROMPT)[-1].float()
        rows = logits_of(mlow, seq)[ROW_POSITIONS].float()
        tensors[f"last_logits_{tag}"] = last.contiguous()
        tensors[f"rows_logits_{tag}"] = rows.contiguous()
        g = greedy_manual(mlow, PROMPT, NEW_TOKENS)
        tensors[f"greedy_{tag}"] = torch.tensor(g, dtype=torch.int32)
        checks[f"{tag}_vs_f64_last_rel"] = rel(last, last64)
        checks[f"{tag}_vs_f64_rows_rel"] = rel(rows, full64[ROW_POSITIONS])
        checks[f"{tag}_greedy_equal_to_f32_steps"] = next((i for i, (a, b) in enumerate(zip(g, greedy)) if a != b), NEW_TOKENS)
        lowp[tag] = g
    save_file(tensors, os.path.join(folder, "reference.safetensors"))
    meta = {
        "family": name,
        "prompt": PROMPT,
        "rows": ROW_POSITIONS,
        "greedy_f32": greedy,
        "greedy_generate": gen,
        "greedy_bf16": lowp["bf16"],
        "greedy_f16": lowp["f16"],
        "checks": checks,
        "seed": seed,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "made_by": "scripts/make_parity_fixtures.py",
    }
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    log.write(f"   checks: {json.dumps(checks)}\n   greedy: {greedy}\n")
    return checks


def main():
    out_root = sys.argv[1] if len(sys.argv) > 1 else "fixtures_out"
    only = sys.argv[2].split(",") if len(sys.argv) > 2 else list(FAMILIES)
    os.makedirs(out_root, exist_ok=True)
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    ok = True
    with open(os.path.join(out_root, "log.txt"), "w") as log:
        log.write(f"torch {torch.__version__} transformers {transformers.__version__}\n")
        for name in only:
            try:
                c = make_family(name, FAMILIES[name], out_root, log)
                print(name, json.dumps(c))
            except Exception:
                ok = False
                tb = traceback.format_exc()
                log.write(f"!! {name} failed:\n{tb}\n")
                print(f"{name} FAILED\n{tb}")
            log.flush()
    print(open(os.path.join(out_root, "log.txt")).read()[-6000:])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
