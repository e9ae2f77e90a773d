#!/usr/bin/env python3
"""Fallback parity fixtures when the GPU machine (torch + transformers) cannot be had: the same tiny
configs as make_parity_fixtures.py, weights drawn with numpy, and the reference computed by a plain
numpy float64 transcription of the Hugging Face modeling code of each family (llama, mistral,
qwen2, qwen3, phi3): RMSNorm, rotate-half RoPE (llama3 scaling), grouped k/v heads repeated
explicitly, causal + sliding-window mask, SwiGLU, tied embeddings. No kiln code is used.

    python3 scripts/make_parity_fixtures_numpy.py OUT_DIR
    python3 scripts/make_parity_fixtures_numpy.py --check tests/fixtures/models   # vs transformers-made folders

Writes the same files as make_parity_fixtures.py; reference.json says "reference": "numpy-float64".
Low-precision entries (rows_logits_bf16/f16, last_logits_bf16/f16) hold the float64 values here
(there is no transformers run in that dtype to compare with).
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
PROMPT = [1, 17, 300, 42, 511, 7, 128, 256, 64, 99, 3, 450]
NEW_TOKENS = 32
ROW_POSITIONS = [0, 5, len(PROMPT) - 1, len(PROMPT) + 7, len(PROMPT) + NEW_TOKENS - 1]


def families():
    # the configs of make_parity_fixtures.py, read from its source without importing torch
    src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_parity_fixtures.py")).read()
    start = src.index("COMMON = dict(")
    end = src.index("def init_weights")
    ns = {}
    exec(src[start:end], {"dict": dict}, ns)  # our own committed file: plain dict literals
    return ns["FAMILIES"]


def f32(x):
    return np.asarray(x, dtype=np.float32)


def head_dim(c):
    return c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]


def param_shapes(c):
    H, D, I = c["hidden_size"], head_dim(c), c["intermediate_size"]
    nh, nkv, V = c["num_attention_heads"], c["num_key_value_heads"], c["vocab_size"]
    mt = c["model_type"]
    shapes = {"model.embed_tokens.weight": (V, H), "model.norm.weight": (H,)}
    if not c.get("tie_word_embeddings"):
        shapes["lm_head.weight"] = (V, H)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes[p + "input_layernorm.weight"] = (H,)
        shapes[p + "post_attention_layernorm.weight"] = (H,)
        if mt == "phi3":
            shapes[p + "self_attn.qkv_proj.weight"] = ((nh + 2 * nkv) * D, H)
            shapes[p + "mlp.gate_up_proj.weight"] = (2 * I, H)
        else:
            shapes[p + "self_attn.q_proj.weight"] = (nh * D, H)
            shapes[p + "self_attn.k_proj.weight"] = (nkv * D, H)
            shapes[p + "self_attn.v_proj.weight"] = (nkv * D, H)
            shapes[p + "mlp.gate_proj.weight"] = (I, H)
            shapes[p + "mlp.up_proj.weight"] = (I, H)
            if mt == "qwen2":
                shapes[p + "self_attn.q_proj.bias"] = (nh * D,)
                shapes[p + "self_attn.k_proj.bias"] = (nkv * D,)
                shapes[p + "self_attn.v_proj.bias"] = (nkv * D,)
            if mt == "qwen3":
                shapes[p + "self_attn.q_norm.weight"] = (D,)
                shapes[p + "self_attn.k_norm.weight"] = (D,)
        shapes[p + "self_attn.o_proj.weight"] = (H, nh * D)
        shapes[p + "mlp.down_proj.weight"] = (H, I)
    return shapes


def init_weights(c, seed):
    """The distributions of make_parity_fixtures.init_weights, drawn with numpy."""
    rng = np.random.default_rng(seed)
    w = {}
    for name, shape in param_shapes(c).items():
        if "norm" in name:
            v = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name.endswith(".bias"):
            v = 0.1 * rng.standard_normal(shape)
        elif "embed_tokens" in name:
            v = rng.standard_normal(shape) * (0.25 if c.get("tie_word_embeddings") else 1.0)
        else:
            v = rng.standard_normal(shape) / np.sqrt(shape[1])
            if "lm_head" in name:
                v = v * 2.0
        w[name] = f32(v)
    return w


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    codes = {np.float32: "F32", np.float64: "F64", np.int32: "I32"}
    for k, v in tensors.items():
        v = np.ascontiguousarray(v)
        b = v.tobytes()
        header[k] = {"dtype": codes[v.dtype.type], "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def inv_freq(c):
    D = head_dim(c)
    base = np.float32(c.get("rope_theta", 10000.0))
    inv = (np.float32(1.0) / (base ** (np.arange(0, D, 2, dtype=np.float32) / np.float32(D)))).astype(np.float32)
    s = c.get("rope_scaling")
    if s and (s.get("rope_type") or s.get("type")) == "llama3":
        factor, low, high, old = s["factor"], s["low_freq_factor"], s["high_freq_factor"], s["original_max_position_embeddings"]
        lw, hw = old / low, old / high
        wl = 2 * np.pi / inv
        out = np.where(wl > lw, inv / factor, inv)
        smooth = (old / wl - low) / (high - low)
        mid = (1 - smooth) * out / factor + smooth * out
        is_mid = ~(wl < hw) & ~(wl > lw)
        inv = np.where(is_mid, mid, out).astype(np.float32)
    return inv.astype(np.float64)


def rmsnorm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def rope(x, cos, sin):
    h = x.shape[-1] // 2
    rot = np.concatenate([-x[..., h:], x[..., :h]], -1)
    return x * cos + rot * sin


def forward(c, w, ids):
    W = {k: v.astype(np.float64) for k, v in w.items()}
    mt, eps = c["model_type"], c["rms_norm_eps"]
    D, nh, nkv = head_dim(c), c["num_attention_heads"], c["num_key_value_heads"]
    L = len(ids)
    x = W["model.embed_tokens.weight"][ids]
    ang = np.arange(L, dtype=np.float64)[:, None] * inv_freq(c)[None, :]
    emb = np.concatenate([ang, ang], -1)
    cos, sin = np.cos(emb), np.sin(emb)
    i, j = np.arange(L)[:, None], np.arange(L)[None, :]
    visible = j <= i
    window = c.get("sliding_window") if (mt == "mistral" or c.get("use_sliding_window")) else None
    if window:
        visible &= j > i - window
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rmsnorm(x, W[p + "input_layernorm.weight"], eps)
        if mt == "phi3":
            qkv = h @ W[p + "self_attn.qkv_proj.weight"].T
            q, k, v = qkv[:, : nh * D], qkv[:, nh * D : (nh + nkv) * D], qkv[:, (nh + nkv) * D :]
        else:
            q, k, v = (h @ W[p + f"self_attn.{n}_proj.weight"].T for n in "qkv")
            if mt == "qwen2":
                q, k, v = (t + W[p + f"self_attn.{n}_proj.bias"] for t, n in zip((q, k, v), "qkv"))
        q = q.reshape(L, nh, D).transpose(1, 0, 2)
        k = k.reshape(L, nkv, D).transpose(1, 0, 2)
        v = v.reshape(L, nkv, D).transpose(1, 0, 2)
        if mt == "qwen3":
            q = rmsnorm(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rmsnorm(k, W[p + "self_attn.k_norm.weight"], eps)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rep = nh // nkv
        k, v = np.repeat(k, rep, 0), np.repeat(v, rep, 0)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(D)
        s = np.where(visible[None], s, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        s = s / s.sum(-1, keepdims=True)
        o = (s @ v).transpose(1, 0, 2).reshape(L, nh * D)
        x = x + o @ W[p + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, W[p + "post_attention_layernorm.weight"], eps)
        if mt == "phi3":
            gu = h @ W[p + "mlp.gate_up_proj.weight"].T
            g, u = gu[:, : c["intermediate_size"]], gu[:, c["intermediate_size"] :]
        else:
            g, u = h @ W[p + "mlp.gate_proj.weight"].T, h @ W[p + "mlp.up_proj.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * u) @ W[p + "mlp.down_proj.weight"].T
    x = rmsnorm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if c.get("tie_word_embeddings") else W["lm_head.weight"]
    return x @ head.T


def make_family(name, spec, out_root):
    spec = dict(spec)
    seed = spec.pop("seed")
    folder = os.path.join(out_root, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(spec, f, indent=2, sort_keys=True)
        f.write("\n")
    w = init_weights(spec, seed)
    save_safetensors(os.path.join(folder, "model.safetensors"), w)
    ids = list(PROMPT)
    for _ in range(NEW_TOKENS):
        ids.append(int(forward(spec, w, ids)[-1].argmax()))
    greedy = ids[len(PROMPT):]
    full = forward(spec, w, ids)
    last = forward(spec, w, PROMPT)[-1]
    rows = full[ROW_POSITIONS]
    t = {
        "input_ids": np.array(PROMPT, np.int32), "sequence": np.array(ids, np.int32), "rows": np.array(ROW_POSITIONS, np.int32),
        "last_logits_f64": last, "last_logits_f32": f32(last), "full_logits_f32": f32(full), "greedy_f32": np.array(greedy, np.int32),
        "last_logits_bf16": f32(last), "rows_logits_bf16": f32(rows), "last_logits_f16": f32(last), "rows_logits_f16": f32(rows),
    }
    save_safetensors(os.path.join(folder, "reference.safetensors"), t)
    srt = np.sort(full, -1)
    meta = {
        "family": name, "prompt": PROMPT, "rows": ROW_POSITIONS, "greedy_f32": greedy, "seed": seed,
        "reference": "numpy-float64",
        "checks": {"bf16_vs_f64_last_rel": 0.0, "f16_vs_f64_last_rel": 0.0, "min_top2_gap": float((srt[:, -1] - srt[:, -2]).min())},
        "versions": {"numpy": np.__version__},
        "made_by": "scripts/make_parity_fixtures_numpy.py",
    }
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(name, greedy, "min top-2 gap", meta["checks"]["min_top2_gap"])


def load_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    codes = {"F32": np.float32, "F64": np.float64, "I32": np.int32}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + b : 8 + n + e], dtype=codes[v["dtype"]]).reshape(v["shape"])
    return out


def check(root):
    """Runs this numpy transcription on fixture folders made by transformers and compares."""
    for name in sorted(os.listdir(root)):
        folder = os.path.join(root, name)
        if not os.path.exists(os.path.join(folder, "reference.safetensors")):
            continue
        c = json.load(open(os.path.join(folder, "config.json")))
        w = load_safetensors(os.path.join(folder, "model.safetensors"))
        ref = load_safetensors(os.path.join(folder, "reference.safetensors"))
        seq = [int(t) for t in ref["sequence"]]
        full = forward(c, w, seq)
        r64 = ref["last_logits_f64"]
        d = np.abs(full[len(PROMPT) - 1] - r64).max() / np.abs(r64).max()
        d32 = np.abs(full - ref["full_logits_f32"]).max() / np.abs(full).max()
        print(f"{name}: numpy vs transformers f64 last {d:.2e}, vs f32 all positions {d32:.2e}")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--check":
        return check(sys.argv[2])
    out_root = sys.argv[1] if len(sys.argv) > 1 else "fixtures_out"
    for name, spec in families().items():
        make_family(name, spec, out_root)


if __name__ == "__main__":
    main()
